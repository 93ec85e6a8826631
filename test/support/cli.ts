import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'lib', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `cdk8s-audit` command as a user would (a real child process). */
export function cli(args: string[], options: { input?: string; cwd?: string } = {}): CliResult {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' before the CLI tests`);
  const r = spawnSync(process.execPath, [MAIN, ...args], { input: options.input ?? '', cwd: options.cwd ?? ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
