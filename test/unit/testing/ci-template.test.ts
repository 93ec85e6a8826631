import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

describe("the scaffold's CI: a kind job running prove --kind", () => {
  it('init writes a GitHub Actions workflow that builds the image main.ts names and runs prove --kind, keeping the report', async () => {
    const dir = join(tempDir('ci-template'), 'app');
    const r = await runCli(['init', dir, '--preset', 'pci-dss', '--skip-git']);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.github', 'workflows', 'audit-prove.yml'), 'utf8');
    expect(text).not.toMatch(/\{\{\w+\}\}/);
    const wf = parse(text);
    expect(wf.on).toEqual(['push', 'pull_request']);
    const steps: { run?: string; uses?: string; with?: Record<string, unknown>; if?: string }[] = wf.jobs.prove.steps;
    expect(wf.jobs.prove['runs-on']).toBe('ubuntu-latest');
    const runs = steps.map((s) => s.run).filter(Boolean);
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npx cdk8s-audit prove --kind --out audit-proof');
    // kind and kubectl are installed before prove; the image is built before prove loads it.
    const kindAt = steps.findIndex((s) => s.uses?.startsWith('helm/kind-action@'));
    const imageAt = steps.findIndex((s) => s.run?.startsWith('npx cdk8s-audit sink image'));
    const proveAt = steps.findIndex((s) => s.run?.includes('prove --kind'));
    expect(kindAt).toBeGreaterThanOrEqual(0);
    expect(imageAt).toBeGreaterThan(kindAt);
    expect(proveAt).toBeGreaterThan(imageAt);
    // The tag it builds is the image the app's AuditSink runs.
    const tag = /--tag (\S+)/.exec(steps[imageAt].run!)![1];
    const sinkImage = /const SINK_IMAGE = '([^']+)'/.exec(readFileSync(join(dir, 'main.ts'), 'utf8'))?.[1];
    expect(tag).toBe(sinkImage);
    // The report is kept, also when prove fails.
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toBe('always()');
    expect(upload.with!.path).toBe('audit-proof/');
  });
});
