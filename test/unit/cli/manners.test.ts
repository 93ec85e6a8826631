import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { editDistance, nameFlags, nearest } from '../../../src/cli/command';
import { COMMANDS } from '../../../src/cli/commands';
import { exitOnClosedPipe, main } from '../../../src/cli/main';
import { ROOT } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

// Issue 13.10: CLI manners — a closed pipe ends quietly, messages name the flags the user typed,
// every --help exits 0, and a typo gets the nearest option or verb.

const dir = tempDir('manners');

/** Runs main() in this process with captured output (no child: fast, and enough for everything but EPIPE). */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough({}).end(), cwd: dir });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** The built CLI with its standard output's reader gone before it writes: a closed pipe. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const main = join(ROOT, 'lib', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run 'npm run build' before the CLI tests`);
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed pipe (cdk8s-audit preset --list | head -1)', () => {
  it.each([['preset', '--list'], ['preset', 'pci-dss'], ['--help'], ['validate', '--help']])('%j ends quietly with exit 0', async (...args) => {
    const r = await runWithClosedStdout(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('exitOnClosedPipe', () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  it.each<[string[], number]>([[['preset', '--list'], 0], [['evaluate', 'p.yaml'], 0], [['sink', 'serve', '--forward-stdout'], 1]])('%j exits %i', (argv, code) => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const exits: number[] = [];
    exitOnClosedPipe(stream, argv, (c) => void exits.push(c));
    stream.emit('error', epipe);
    expect(exits).toEqual([code]);
  });
  it('other stream errors are not swallowed', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    exitOnClosedPipe(stream, ['preset'], () => undefined);
    expect(() => stream.emit('error', Object.assign(new Error('EIO'), { code: 'EIO' }))).toThrow('EIO');
  });
});

describe('--help', () => {
  it.each(COMMANDS.map((c) => [c.name]))('%s --help exits 0 with its usage', async (name) => {
    const r = await run([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: cdk8s-audit ${name}`));
  });
  it.each([['sink'], ['sink rules']])('the group word %s --help lists its subcommands, exit 0', async (group) => {
    const r = await run([...group.split(' '), '--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS.filter((x) => x.name.startsWith(`${group} `))) expect(r.stdout).toContain(c.name);
  });
  it('wins over other mistakes on the line (an unknown option, a missing argument)', async () => {
    expect((await run(['validate', '--bogus', '--help'])).code).toBe(0);
    expect((await run(['explain', '-h'])).code).toBe(0);
  });
  it('help VERB is VERB --help', async () => {
    const r = await run(['help', 'lint']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-audit lint/);
  });
  it('a group word alone is still a usage error (exit 2) that lists the subcommands', async () => {
    const r = await run(['sink']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'sink' needs a subcommand");
    expect(r.stderr).toContain('sink verify');
  });
});

describe('typos get the nearest option or verb', () => {
  it.each<[string[], string]>([
    [['validate', '--kubernetes-versoin', '1.35', 'x'], "unknown option '--kubernetes-versoin'; did you mean --kubernetes-version?"],
    [['report', '--preset', 'cis', '--polcy', 'p.yaml'], "unknown option '--polcy'; did you mean --policy?"],
    [['lint', '--fail-of', 'error', 'x'], "unknown option '--fail-of'; did you mean --fail-on?"],
    [['flags', '--log-max-age', '30'], "unknown option '--log-max-age'; did you mean --log-maxage?"],
    [['valdate', 'x'], "unknown command 'valdate'; did you mean 'validate'?"],
    [['sink', 'verfy'], "'sink' has no subcommand 'verfy'; did you mean 'sink verify'?"],
  ])('%j', async (argv, says) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`cdk8s-audit: ${says}`);
  });
  it('and nothing when nothing is near', async () => {
    const r = await run(['validate', '--zzzzzz', 'x']);
    expect(r.stderr.split('\n')[0]).toBe("cdk8s-audit: unknown option '--zzzzzz'");
    expect((await run(['frobnicate'])).stderr).not.toContain('did you mean');
  });
  it.each<[string, string, number]>([
    ['', '', 0], ['abc', 'abc', 0], ['polcy', 'policy', 1], ['kitten', 'sitting', 3], ['', 'ab', 2], ['ab', 'ba', 2],
  ])('editDistance(%j, %j) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
  it('nearest takes a unique prefix, and otherwise at most a third of the word in edits', () => {
    expect(nearest('kubernetes', ['kubernetes-version', 'format'])).toBe('kubernetes-version');
    expect(nearest('form', ['format', 'formula'])).toBeUndefined();
    expect(nearest('fromat', ['format', 'out'])).toBe('format');
    expect(nearest('ab', ['xy'])).toBeUndefined();
  });
});

/** camelCase names of the library's props (src/backends and src/control-plane interfaces): never in CLI messages. */
function libraryProps(): string[] {
  const props = new Set<string>();
  for (const sub of ['src/backends', 'src/control-plane']) {
    for (const f of readdirSync(join(ROOT, sub)).filter((x) => x.endsWith('.ts'))) {
      for (const m of readFileSync(join(ROOT, sub, f), 'utf8').matchAll(/readonly (\w+)\??:/g)) if (/[a-z][A-Z]/.test(m[1])) props.add(m[1]);
    }
  }
  return [...props];
}

describe('messages name the CLI flags, not TypeScript props', () => {
  const props = libraryProps();
  const notPem = join(dir, 'not-a-cert.pem');
  writeFileSync(notPem, 'hello\n');
  it.each<[string, string[], RegExp]>([
    ['flags: unsupported version', ['flags', '--log-path', '/var/log/a/audit.log', '--kubernetes-version', '1.2'], /^cdk8s-audit: --kubernetes-version "1\.2" is not supported/],
    ['advise: unsupported version', ['advise', '--rps', '10', '--sink-latency', '200ms', '--kubernetes-version', '1.2'], /^cdk8s-audit: --kubernetes-version "1\.2" is not supported/],
    ['validate: unsupported version', ['validate', '--kubernetes-version', '1.2', 'x'], /^cdk8s-audit: --kubernetes-version "1\.2" is not supported/],
    ['lint: unsupported version', ['lint', '--kubernetes-version', 'x', 'p.yaml'], /^cdk8s-audit: --kubernetes-version "x" is not a Kubernetes version/],
    ['preset: a version the verb passes on unchecked', ['preset', 'cis', '--kubernetes-version', 'abc'], /^cdk8s-audit: --kubernetes-version "abc" is not a Kubernetes version[^\n]*\n$/],
    ['kubeconfig: --ca not PEM', ['kubeconfig', '--server', 'https://10.0.0.1/', '--ca', notPem], /^cdk8s-audit: --ca .*"hello\\n" is not a PEM certificate/],
    ['kubeconfig: --ca and --ca-path', ['kubeconfig', '--server', 'https://10.0.0.1/', '--ca', notPem, '--ca-path', '/x'], /--ca .*and --ca-path: both are set/],
    ['kubeconfig: bad --server', ['kubeconfig', '--server', 'foo'], /^cdk8s-audit: --server: "foo" is not an absolute URL/],
    ['kubeconfig: http', ['kubeconfig', '--server', 'http://10.0.0.1/'], /set --allow-http for a sink on 127\.0\.0\.1/],
    ['flags: retention warning', ['flags', '--log-path', '/var/log/a/audit.log', '--retention-days', '30'], /warning: --retention-days 30 days: --log-maxbackup 100 × 100 MiB .* set --expected-mib-per-day to check it/],
    ['flags: maxsize warning', ['flags', '--log-path', '/var/log/a/audit.log', '--log-maxsize', '0'], /warning: --log-maxsize \(--audit-log-maxsize\): 0 turns rotation off/],
    ['kubeadm-config: maxsize warning', ['kubeadm-config', '--log-path', '/var/log/a/audit.log', '--log-maxsize', '0'], /warning: --log-maxsize \(--audit-log-maxsize\)/],
    ['advise: peak below average', ['advise', '--rps', '100', '--sink-latency', '200ms', '--peak-rps', '5'], /--peak-rps: 5 is below --rps 100.*\n--burst-duration: \(unset\) but --peak-rps 5 is given/],
    ['advise: backoff', ['advise', '--rps', '100', '--sink-latency', '200ms', '--webhook-initial-backoff', '0'], /^cdk8s-audit: --webhook-initial-backoff \(--audit-webhook-initial-backoff\): 0 s/],
    ['advise: drops', ['advise', '--rps', '100000', '--sink-latency', '2s', '--webhook-batch-buffer-size', '10', '--format', 'json'], /--webhook-truncate-max-event-size ≤/],
  ])('%s', async (_name, argv, says) => {
    const r = await run(argv);
    expect(r.stderr).toMatch(says);
    const leaked = props.filter((p) => new RegExp(`(?<![\\w-])${p}\\b`).test(r.stderr));
    expect(leaked).toEqual([]);
  });

  it('a version the library refuses is a usage error (exit 2), not an internal error', async () => {
    expect((await run(['preset', 'cis', '--kubernetes-version', '1.2'])).code).toBe(2);
  });

  it.each<[string, Record<string, string>, string]>([
    ['--kubernetesVersion "1.2" is not supported', { kubernetesVersion: '--kubernetes-version' }, '--kubernetes-version "1.2" is not supported'],
    ['certificateAuthorityPem: "x" is not PEM', { certificateAuthorityPem: '--ca' }, '--ca: "x" is not PEM'],
    ['--burst-duration (load.burstSeconds): (unset)', { 'load.burstSeconds': '--burst-duration' }, '--burst-duration: (unset)'],
    ['set allowInsecureHttp (CLI: --allow-http)', { allowInsecureHttp: '--allow-http' }, 'set --allow-http'],
    ['server: bad; the server answers', { server: '--server' }, '--server: bad; the server answers'],
    ['2 problems:\n  - server: bad', { server: '--server' }, '2 problems:\n  - --server: bad'],
    ['log.maxAgeDays and maxAgeDaysX stay apart', { maxAgeDays: '--log-maxage' }, 'log.maxAgeDays and maxAgeDaysX stay apart'],
  ])('nameFlags(%j)', (message, fields, expected) => {
    expect(nameFlags(message, fields)).toBe(expected);
  });
});
