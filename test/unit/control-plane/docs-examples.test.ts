/**
 * docs/control-planes.md shows the example app's own output: every block after an
 * `<!-- example: node/PATH [first N lines] -->` marker is that file of `cdk8s synth` of main.ts (or its
 * first N lines). Run with UPDATE_DOCS=1 to rewrite the blocks from a fresh synth after a change.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/cli';

const DOC = join(ROOT, 'docs', 'control-planes.md');
const MARKER = /<!-- example: (\S+)(?: first (\d+) lines)? -->\n```yaml\n[\s\S]*?```/g;

/** The doc with every example block replaced by the file it names, from `outdir`. */
function renderExamples(doc: string, outdir: string): string {
  return doc.replace(MARKER, (_, path: string, first?: string) => {
    const lines = readFileSync(join(outdir, path), 'utf8').replace(/\n$/, '').split('\n');
    const shown = first ? lines.slice(0, Number(first)) : lines;
    const more = first && lines.length > shown.length ? `\n# … ${lines.length - shown.length} more lines` : '';
    return `<!-- example: ${path}${first ? ` first ${first} lines` : ''} -->\n\`\`\`yaml\n${shown.join('\n')}${more}\n\`\`\``;
  });
}

describe('docs/control-planes.md examples', () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk8s-audit-docs-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('are the example app\'s synth output', () => {
    // main.ts as `cdk8s synth` runs it (the unit project's globalSetup built lib/, which main.ts imports).
    const res = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK8S_OUTDIR: out, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const doc = readFileSync(DOC, 'utf8');
    const markers = [...doc.matchAll(MARKER)].map((m) => m[1]);
    expect(markers.length).toBeGreaterThanOrEqual(8);
    const rendered = renderExamples(doc, out);
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, rendered);
    expect(doc).toBe(rendered);
  });
});
