import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdk8s';
import { afterAll, onTestFinished, TestRunner } from 'vitest';

/**
 * Makes `<os temp dir>/cdk8s-audit-<prefix>-XXXXXX` and removes it, pass or fail, when the scope that made
 * it ends: the test (a beforeEach counts as the test), or the file or describe block whose body made it.
 * Never call it from beforeAll or afterAll: vitest silently drops an afterAll registered while suites run.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cdk8s-audit-${prefix}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (TestRunner.getCurrentTest()) onTestFinished(remove);
  else afterAll(remove);
  return dir;
}

/** Testing.app() makes a cdk8s.outdir.* temp dir that nothing removes; this app's outdir is removed. */
export function testApp(): App {
  return Testing.app({ outdir: tempDir('app') });
}
