/**
 * Runs the external tools the kind helpers drive (docker, kind, kubectl) and finds them: an explicit
 * path, then an environment variable, then PATH. A missing tool fails with what provides it.
 */
import { execFile, spawnSync } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command; never throws for a non-zero exit (see `run`). */
export function tryRun(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((done) => {
    const child = execFile(
      cmd,
      args as string[],
      { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 512 * 1024 * 1024, timeout: options.timeoutMs ?? 600_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
        done({ code: error && code === 0 ? 1 : code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command and throws with the end of its output when it fails. */
export async function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const res = await tryRun(cmd, args, options);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}\n${tail(res.stderr || res.stdout, 40)}`);
  }
  return res.stdout;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Where a tool comes from: explicit option, then the environment variable, then PATH. */
export function findTool(name: string, explicit: string | undefined, envVar: string, hint: string): string {
  const chosen = explicit ?? process.env[envVar];
  if (chosen) return chosen;
  const res = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = res.stdout.trim();
  if (res.status !== 0 || !found) throw new Error(`${name} is not on PATH and ${envVar} is not set. ${hint}`);
  return found;
}

export async function requireDocker(): Promise<void> {
  const res = await tryRun('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`the Docker engine does not answer (${tail(res.stderr, 3)}); kind needs a running Docker engine`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
