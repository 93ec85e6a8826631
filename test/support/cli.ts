import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main';

export const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'lib', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * Runs `cdk8s-audit ARGS` in this process: main() from the source with in-memory streams, so a test run
 * after an edit tests the code as it is now, not the last build. stdin holds `input` (empty by default);
 * paths resolve against `cwd` (the repository by default), which reaches the verbs as io.cwd only.
 */
export async function runCli(args: string[], options: { input?: string; cwd?: string } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  stdin.end(options.input ?? '');
  const code = await main(args, { stdout, stderr, stdin, cwd: options.cwd ?? ROOT });
  stdout.end();
  stderr.end();
  return { code, stdout: out(), stderr: err() };
}

/**
 * Runs the built `cdk8s-audit` as a user would, a real child process: only for what needs one (signals,
 * exit on a closed pipe, memory bounds, the binary itself). The unit project's globalSetup builds lib/
 * first (test/support/build.ts), so this never runs a stale build.
 */
export function cli(args: string[], options: { input?: string; cwd?: string } = {}): CliResult {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' before the CLI tests`);
  const r = spawnSync(process.execPath, [MAIN, ...args], { input: options.input ?? '', cwd: options.cwd ?? ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
