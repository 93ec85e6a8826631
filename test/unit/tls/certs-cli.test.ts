/**
 * `cdk8s-audit certs` writes what its users read: the sink (`sink serve --tls-dir`, the TLS Secret's keys
 * tls.crt/tls.key/ca.crt) and the node (ca.crt, apiserver-client.*); it renews leaves with the existing CA;
 * it never writes into a cdk8s app's synth output. Real processes, real TLS.
 */
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, ROOT } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

const MAIN = join(ROOT, 'lib', 'cli', 'main.js');

/** Starts `sink serve --tls-dir` and resolves with its webhook URL once it listens. */
function serve(tlsDir: string, work: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const key = join(work, 'signing.key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const child = spawn(process.execPath, [MAIN, 'sink', 'serve', '--store', join(work, 'store'), '--key', key, '--tls-dir', tlsDir, '--listen', '127.0.0.1:0', '--ops-listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sink serve did not start: ${err}`)), 20_000);
    child.stderr.on('data', (d) => {
      err += d;
      const line = err.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        // stop() waits for the drain to finish: the temp dir (its store) is removed right after the test.
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        resolve({ url: JSON.parse(line).url, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    child.on('exit', (code) => reject(new Error(`sink serve exited ${code}: ${err}`)));
  });
}

function post(url: string, dir: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, 'apiserver-client.crt')), key: readFileSync(join(dir, 'apiserver-client.key')),
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('certs writes the names its readers expect', () => {
  it('certs --out tls, then sink serve --tls-dir tls serves the apiserver client (was: tls/tls.crt missing)', async () => {
    const work = tempDir('certs-serve');
    const tls = join(work, 'tls');
    const r = await runCli(['certs', '--out', tls, '--sans', '127.0.0.1']);
    expect(r.code, r.stderr).toBe(0);
    const sink = await serve(tls, work);
    try {
      expect(await post(sink.url, tls, JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: [] }))).toBe(200);
    } finally {
      await sink.stop();
    }
  });

  it('--namespace prints the kubectl command for the sink Secret from those files', async () => {
    const work = tempDir('certs-kubectl');
    const r = await runCli(['certs', '--out', 'secrets', '--sans', '10.96.0.50', '--namespace', 'audit', '--secret-name', 'sink-tls'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kubectl create secret generic sink-tls --namespace audit --from-file=tls.crt=secrets/tls.crt --from-file=tls.key=secrets/tls.key --from-file=ca.crt=secrets/ca.crt');
  });

  it('--renew keeps the CA and re-issues the leaves in place with their SANs, user and groups', async () => {
    const dir = join(tempDir('certs-renew'), 's');
    expect((await runCli(['certs', '--out', dir, '--sans', '10.96.0.50,audit.example.com', '--client-user', 'apiserver', '--client-groups', 'audit-writers'])).code).toBe(0);
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
    const oldSink = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    const inode = statSync(join(dir, 'tls.key')).ino;
    const r = await runCli(['certs', '--out', dir, '--renew', '--days', '30', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ renewed: true, clientUser: 'apiserver', clientGroups: ['audit-writers'] });
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(ca);
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toBe(caKey);
    const sink = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    const client = new X509Certificate(readFileSync(join(dir, 'apiserver-client.crt')));
    expect(sink.serialNumber).not.toBe(oldSink.serialNumber);
    expect(sink.subjectAltName).toBe(oldSink.subjectAltName);
    expect(sink.checkIssued(new X509Certificate(ca))).toBe(true);
    expect(client.checkIssued(new X509Certificate(ca))).toBe(true);
    expect(client.subject).toMatch(/O=audit-writers[\s\S]*CN=apiserver|CN=apiserver[\s\S]*O=audit-writers/);
    expect(new Date(sink.validTo).getTime() - Date.now()).toBeLessThan(31 * 24 * 3600 * 1000);
    expect(statSync(join(dir, 'tls.key')).ino).toBe(inode);
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600);
  });

  it('--renew without a CA, and --renew with --force, are refused naming the fix', async () => {
    const empty = tempDir('certs-renew-empty');
    const r = await runCli(['certs', '--out', empty, '--renew', '--sans', '127.0.0.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--renew: .*ca\.crt is missing; --renew issues new certificates with the CA/);
    expect((await runCli(['certs', '--out', empty, '--renew', '--force'])).code).toBe(2);
  });

  it.each([[['--out', 'tls']], [['--cert-manager', '--namespace', 'audit']]])('a SAN that is neither an IP nor a DNS name exits 1 naming --sans (%j), writing nothing', async (mode) => {
    const cwd = tempDir('certs-bad-san');
    const r = await runCli(['certs', ...mode, '--sans', '10.96.0.50,not a san!'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cdk8s-audit: --sans: "not a san!" is neither an IP address nor a DNS name (lowercase labels of a-z, 0-9 and '-', separated by '.'); remove it or fix its spelling\n`);
    expect(existsSync(join(cwd, 'tls'))).toBe(false);
  });

  it("refuses --out inside a cdk8s app's synth output (synth wipes it, git commits it)", async () => {
    const app = tempDir('certs-app');
    writeFileSync(join(app, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\noutput: dist\n');
    mkdirSync(join(app, 'dist'));
    const r = await runCli(['certs', '--out', 'dist/node/tls', '--sans', '10.96.0.50'], { cwd: app });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--out "dist\/node\/tls" is inside dist, the cdk8s app's synth output: .*write them to \.cdk8s-audit\/secrets/);
    expect((await runCli(['certs', '--out', '.cdk8s-audit/secrets', '--sans', '10.96.0.50'], { cwd: app })).code).toBe(0);
  });
});
