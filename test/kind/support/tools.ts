/**
 * Runs the tools the kind suite drives (docker, kind, the node image script) and finds what the
 * prepare script built. A missing prerequisite fails with the command that provides it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');

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
      { cwd: options.cwd ?? REPO, env: options.env ?? process.env, maxBuffer: 512 * 1024 * 1024, timeout: options.timeoutMs ?? 600_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
        done({ code: error && code === 0 ? 1 : code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command and throws with its output when it fails. */
export async function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const res = await tryRun(cmd, args, options);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}\n${tail(res.stderr || res.stdout, 40)}`);
  }
  return res.stdout;
}

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function printed(script: string, hint: string): string {
  const res = spawnSync('bash', [join(REPO, 'scripts', script), '--print'], { encoding: 'utf8', cwd: REPO });
  const value = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !value) {
    throw new Error(`${script} --print: ${value || '(nothing)'} is missing. ${hint}`);
  }
  return value;
}

/** The kind binary scripts/install-kind.sh installed. */
export function kindBinary(): string {
  return printed('install-kind.sh', 'Run `bash scripts/install-kind.sh` (or `npm run test:kind`, which prepares everything).');
}

/** The node image scripts/build-node-image.sh built (or the official one with KIND_NODE_IMAGE=official). */
export function nodeImage(): string {
  return printed('build-node-image.sh', 'Run `bash scripts/build-node-image.sh` (or `npm run test:kind`, which prepares everything).');
}

/** The kubectl built for the node image, used from the host against the cluster's 127.0.0.1 port. */
export function kubectlBinary(): string {
  const versions = readFileSync(join(REPO, 'scripts', 'versions.env'), 'utf8');
  const v = /^KIND_K8S_VERSION="([^"]+)"/m.exec(versions)?.[1];
  if (!v) throw new Error('scripts/versions.env has no KIND_K8S_VERSION');
  const cache = process.env.CDK8S_AUDIT_CACHE || join(process.env.HOME ?? '/root', '.cache', 'cdk8s-audit');
  const bin = join(cache, 'bin', `kubectl-v${v}`);
  if (!existsSync(bin)) throw new Error(`${bin} is missing. Run \`bash scripts/build-node-image.sh\` (it builds kubectl).`);
  return bin;
}

export async function requireDocker(): Promise<void> {
  const res = await tryRun('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
  if (res.code !== 0) {
    throw new Error(`the Docker engine does not answer (${tail(res.stderr, 3)}). Run \`sudo bash scripts/install-docker.sh\`.`);
  }
}
