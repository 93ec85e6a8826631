/**
 * The package as a user gets it: the tarball `npm pack` makes from this checkout (run `npm run build`
 * first), installed with npm into temp directories outside the repository.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = join(__dirname, '..', '..');

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * npm as a user runs it, from the repo's npm cache (the registry is asked only for what the cache lacks),
 * without the npm_* variables of the `npm test` that runs this (npm_config_local_prefix would point
 * npm back at this repository).
 */
export const NPM_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD')),
  npm_config_cache: spawnSync('npm', ['config', 'get', 'cache'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  npm_config_loglevel: 'error',
  CDK8S_CHECK_UPGRADE: 'false',
  // Nothing from this checkout on PATH (npm run puts its node_modules/.bin there).
  PATH: (process.env.PATH ?? '').split(':').filter((p) => !p.startsWith(ROOT)).join(':'),
};

/** Runs a command; `ok` makes a non-zero exit throw with everything it printed. */
export function run(cmd: string, args: string[], cwd: string, options: { ok?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Ran {
  const r = spawnSync(cmd, args, { cwd, env: options.env ?? NPM_ENV, encoding: 'utf8', timeout: options.timeoutMs ?? 540_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  const ran = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (options.ok && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return ran;
}

/** A temp directory outside the repository, removed after the file's tests. */
export function outsideDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cdk8s-audit-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `npm pack` of this checkout into `dir`; returns the tarball's path. */
export function pack(dir: string): string {
  if (!existsSync(join(ROOT, 'lib', 'cli', 'main.js'))) throw new Error("lib/ is not built: run 'npm run build' before the package tests");
  const r = run('npm', ['pack', '--json', '--pack-destination', dir], ROOT, { ok: true });
  const [info] = JSON.parse(r.stdout) as { filename: string }[];
  return join(dir, info.filename);
}

/** The files in a tarball, without the leading `package/`. */
export function tarballFiles(tarball: string): string[] {
  return run('tar', ['-tzf', tarball], ROOT, { ok: true }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
}
