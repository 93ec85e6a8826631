import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main';
import { ROOT } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

// Issue 12.5: a policy input must not exhaust the machine, and every way a file cannot be read is one
// line and exit 1 in every verb that reads a policy. Memory is measured as the child's peak RSS (a
// generous bound far below what unbounded reading reaches), never as a time.

const MAIN = join(ROOT, 'lib', 'cli', 'main.js');
const dir = tempDir('hostile');
/** Preloaded into the child: writes its peak RSS (KiB) where RSS_OUT says when it exits, however it exits. */
const PRELOAD = join(dir, 'max-rss.js');
/** Node itself takes ~50 MiB; reading a 50 MB policy whole took GiBs, /dev/zero grew without end. */
const RSS_BOUND_MIB = 250;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly maxRssMiB: number;
}

let runs = 0;
/** Runs the built CLI; `stdinFrom` is a file or device opened as its standard input (else it is empty). */
function run(args: string[], stdinFrom?: string): Run {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' before the CLI tests`);
  const rssOut = join(dir, `rss-${runs++}`);
  const stdin = stdinFrom === undefined ? 'ignore' : openSync(stdinFrom, 'r');
  let r;
  try {
    r = spawnSync(process.execPath, ['--require', PRELOAD, MAIN, ...args], {
      stdio: [stdin, 'pipe', 'pipe'], cwd: dir, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, RSS_OUT: rssOut },
    });
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
  if (r.error) throw r.error;
  const maxRssMiB = existsSync(rssOut) ? Number(readFileSync(rssOut, 'utf8')) / 1024 : Infinity;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, maxRssMiB };
}

const header = 'apiVersion: audit.k8s.io/v1\nkind: Policy\n';
const path = (name: string) => join(dir, name);
let socketServer: Server;

beforeAll(async () => {
  writeFileSync(PRELOAD, "process.on('exit', () => require('fs').writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n");
  writeFileSync(path('good.yaml'), header + 'rules:\n  - level: Metadata\n');
  // A "billion laughs" document: nine levels of ten aliases each.
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) bomb.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  writeFileSync(path('bomb.yaml'), header + bomb.join('\n') + '\nrules: [{level: Metadata}]\n');
  mkdirSync(path('a-directory'));
  symlinkSync(path('nowhere'), path('dangling'));
  // A valid-looking 50 MB policy: a real YAML body, so reading it whole would parse it all.
  const fd = openSync(path('big.yaml'), 'w');
  writeSync(fd, header + 'rules:\n');
  const rule = '  - level: Metadata\n    resources: [{group: "", resources: [pods, secrets]}]\n'.repeat(1000);
  for (let written = 0; written < 50_000_000; written += rule.length) writeSync(fd, rule);
  closeSync(fd);
  // A Unix socket: not a file, and open(2) refuses it even for root (ENXIO).
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(path('a-socket'), resolve));
});
afterAll(() => new Promise<void>((resolve) => (socketServer ? socketServer.close(() => resolve()) : resolve())));

/** Every verb that reads a policy, with the arguments it needs besides the policy. */
const VERBS: [string, (policy: string) => string[]][] = [
  ['validate', (p) => ['validate', p]],
  ['lint', (p) => ['lint', p]],
  ['explain', (p) => ['explain', p, '--verb', 'get', '--url', '/healthz']],
  ['evaluate', (p) => ['evaluate', p, '--input', '/dev/null']],
  ['report', (p) => ['report', '--preset', 'cis', '--policy', p, '--out', join(dir, 'report')]],
];

/** Hostile input → the policy argument, standard input, and what the one line must say. */
const INPUTS: [string, () => { policy: string; stdin?: string }, RegExp][] = [
  ['a YAML alias bomb', () => ({ policy: path('bomb.yaml') }), /cannot read \S*bomb\.yaml: its YAML aliases .* expand beyond the limit of 100/],
  ['a directory', () => ({ policy: path('a-directory') }), /cannot read \S*a-directory: it is a directory/],
  ['/dev/zero', () => ({ policy: '/dev/zero' }), /cannot read \/dev\/zero: it holds more than 4 MiB, over the 4 MiB limit/],
  ['a 50 MB file', () => ({ policy: path('big.yaml') }), /cannot read \S*big\.yaml: it holds 47\.7 MiB \(\d+ bytes\), over the 4 MiB limit/],
  ['/dev/zero as standard input', () => ({ policy: '-', stdin: '/dev/zero' }), /cannot read \(stdin\): it holds more than 4 MiB/],
  ['a missing file', () => ({ policy: path('missing.yaml') }), /cannot read \S*missing\.yaml: no such file/],
  ['a dangling symlink', () => ({ policy: path('dangling') }), /cannot read \S*dangling: it is a symbolic link to a file that does not exist/],
  ['a Unix socket', () => ({ policy: path('a-socket') }), /cannot read \S*a-socket: it is a socket or a device/],
];

describe.each(VERBS)('%s on hostile policy inputs', (verb, argsFor) => {
  // report's --policy is a path only ('-' is not standard input there).
  const inputs = verb === 'report' ? INPUTS.filter(([, make]) => make().policy !== '-') : INPUTS;
  it.each(inputs)('%s: exit 1, one line, no stack trace, bounded memory', (_name, make, says) => {
    const { policy, stdin } = make();
    const r = run(argsFor(policy), stdin);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at |Error:/);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^cdk8s-audit: ${says.source}`))]);
    expect(r.code).toBe(1);
    expect(r.maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
  });
});

describe('other small inputs have limits too', () => {
  it.each<[string, string[], RegExp]>([
    ['kubeconfig --ca', ['kubeconfig', '--server', 'https://10.0.0.1/', '--ca', '/dev/zero'], /^cdk8s-audit: --ca: cannot read \/dev\/zero: it holds more than 1 MiB/],
    ['flags --manifest', ['flags', '--log-path', '/var/log/a/audit.log', '--format', 'patch', '--manifest', '/dev/zero'], /^cdk8s-audit: cannot read \/dev\/zero: it holds more than 4 MiB/],
  ])('%s /dev/zero: exit 1, one line, bounded memory', (_name, args, says) => {
    const r = run(args);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(says)]);
    expect(r.code).toBe(1);
    expect(r.maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
  });
});

describe('limits that must not refuse real inputs', () => {
  it('a policy just under 4 MiB is read', () => {
    const p = path('under-limit.yaml');
    writeFileSync(p, header + 'rules:\n  - level: Metadata\n' + `# ${'x'.repeat(4 * 1024 * 1024 - 200)}\n`);
    const r = run(['validate', p]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  it('validate goes on with the next file after an unreadable one', () => {
    const r = run(['validate', path('a-directory'), path('good.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('good.yaml: valid');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  it('validate --format json reports the unreadable file in its result', () => {
    const r = run(['validate', '--format', 'json', path('dangling')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ valid: false, error: expect.stringContaining('symbolic link') });
  });
});

describe('evaluate --input', () => {
  it.each<[string, string, RegExp]>([
    ['a directory', 'a-directory', /^cdk8s-audit: cannot read --input \S*a-directory: it is a directory/],
    ['a missing file', 'missing.jsonl', /^cdk8s-audit: cannot read --input \S*missing\.jsonl: no such file/],
    ['a Unix socket', 'a-socket', /^cdk8s-audit: cannot read --input \S*a-socket: it is a socket/],
  ])('%s: exit 1, one line', (_name, file, says) => {
    const r = run(['evaluate', path('good.yaml'), '--input', path(file)]);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(says)]);
    expect(r.code).toBe(1);
  });

  it('200k lines are evaluated in bounded memory, every line answered', () => {
    const line = JSON.stringify({ verb: 'get', resourceRequest: true, path: '/api/v1/namespaces/x/pods/p', namespace: 'x', resource: 'pods', name: 'p', apiVersion: 'v1' }) + '\n';
    const p = path('requests.jsonl');
    const fd = openSync(p, 'w');
    for (let i = 0; i < 200; i++) writeSync(fd, line.repeat(1000));
    closeSync(fd);
    const r = run(['evaluate', path('good.yaml'), '--input', p]);
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(200_000);
    expect(JSON.parse(out[199_999])).toMatchObject({ line: 200_000, level: 'Metadata' });
    expect(r.maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
  });

  it('an input without newlines (60 MB) is skipped as it streams past, not held in memory', () => {
    const p = path('one-line.jsonl');
    const fd = openSync(p, 'w');
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 60; i++) writeSync(fd, chunk);
    writeSync(fd, '\n' + JSON.stringify({ verb: 'get', resourceRequest: false, path: '/healthz' }) + '\n');
    closeSync(fd);
    const r = run(['evaluate', path('good.yaml'), '--input', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line 1: longer than 16 MiB (${60 * 1024 * 1024} bytes), skipped`);
    expect(JSON.parse(r.stdout)).toMatchObject({ line: 2, level: 'Metadata' });
    expect(r.maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
  });

  it('waits for a slow reader of its output instead of reading on (backpressure)', async () => {
    const policy = path('good.yaml');
    let pulled = 0;
    let ended = false;
    const requests = new Readable({
      read() {
        // Ends by itself after a bound, so a failing expectation cannot leave it running forever.
        if (ended || pulled >= 100_000) return void this.push(null);
        pulled++;
        this.push(JSON.stringify({ verb: 'get', resourceRequest: false, path: `/healthz/${pulled}` }) + '\n');
      },
      highWaterMark: 1,
    });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let written = 0;
    // Takes one line, then stalls until released: the evaluator must stop reading input meanwhile.
    const stdout = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, done) {
        written++;
        if (written === 1) void released.then(() => done());
        else done();
      },
    });
    const stderr = new PassThrough();
    const running = main(['evaluate', policy], { stdout, stderr, stdin: requests, cwd: dir });
    await new Promise((r) => setTimeout(r, 300));
    const pulledWhileStalled = pulled;
    expect(pulledWhileStalled).toBeLessThan(100);
    release();
    await new Promise((r) => setTimeout(r, 100));
    expect(pulled).toBeGreaterThan(pulledWhileStalled);
    ended = true;
    expect(await running).toBe(0);
  });
});
