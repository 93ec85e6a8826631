/**
 * Per-test cleanup for suites that start control planes: every control plane started through the returned
 * helpers is stopped after each test (a test may stop it earlier: stop() is idempotent, so the later call
 * is a no-op), and every temporary directory is removed.
 */
import { afterEach } from 'vitest';
import { ControlPlane, ControlPlaneOptions, startControlPlane } from './control-plane';
import { makeTempDir, removeTempDir } from './processes';

export interface PerTestResources {
  /** A new temporary directory, removed after the test. */
  tempDir(prefix: string): string;
  /** {@link startControlPlane}, stopped after the test. */
  startControlPlane(options?: ControlPlaneOptions): Promise<ControlPlane>;
}

/** Registers the afterEach hook in the calling test file; call once at its top level. */
export function cleanUpAfterEach(): PerTestResources {
  const planes: ControlPlane[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const cp of planes.splice(0)) await cp.stop();
    for (const d of dirs.splice(0)) removeTempDir(d);
  });
  return {
    tempDir(prefix) {
      const dir = makeTempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    async startControlPlane(options) {
      const cp = await startControlPlane(options);
      planes.push(cp);
      return cp;
    },
  };
}
