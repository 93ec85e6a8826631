/**
 * API.md is the jsii-docgen reference of the constructs entry (src/constructs.ts, the API Python users get):
 * regenerated here from the jsii assembly (scripts/build-jsii.sh, cached outside the repository) and compared
 * with the committed file, so a change to a construct's props or docs cannot land without its reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outsideDir, ROOT, run } from './support';

const REGEN = 'npm run docgen';

/** The first line where two texts differ, for the failure message. */
function firstDifference(committed: string, fresh: string): string {
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '(end of file)')}, generated ${JSON.stringify(b[at] ?? '(end of file)')}`;
}

describe('API.md', () => {
  it('is what jsii-docgen generates from the current sources', () => {
    const out = join(outsideDir('api-md'), 'API.md');
    run('bash', ['scripts/build-jsii.sh', '--api-md', out], ROOT, { ok: true, timeoutMs: 600_000 });
    const fresh = readFileSync(out, 'utf8');
    const committed = readFileSync(join(ROOT, 'API.md'), 'utf8');
    if (fresh !== committed) {
      expect.fail(`API.md is out of date (${firstDifference(committed, fresh)}); regenerate it with \`${REGEN}\` and commit it`);
    }
    expect(fresh).toContain('ClusterAudit');
  });
});
