import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * vitest globalSetup: compiles src/ into lib/ once before the tests that spawn the built binary
 * (lib/cli/main.js), so they cannot run against a build older than the source.
 */
export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
}
