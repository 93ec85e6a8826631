/**
 * `cdk8s-audit sink image` from the packed package, installed outside the repository, builds the image the
 * AuditSink runs; the image serves the webhook over mutual TLS with the files `cdk8s-audit certs` wrote.
 * Runs in the kind project (Docker is there after scripts/kind-prepare.sh). Offline: the base is the kind
 * node image's Debian base plus this machine's node, as scripts/kind-sink-image.sh makes it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outsideDir, pack, run } from './support';

const DOCKER = process.env.CDK8S_AUDIT_DOCKER ?? 'docker';
const KIND_BASE = 'cdk8s-audit/kind-base:bookworm';
const TAG = `cdk8s-audit-sink:package-test-${process.pid}`;
const work = outsideDir('package-sink-image');
let container = '';
let nodeBase = '';

function docker(args: string[], ok = true) {
  return run(DOCKER, args, work, { ok, env: process.env });
}

/** The offline node base: the kind base image plus this machine's node binary (as scripts/kind-sink-image.sh). */
function offlineNodeBase(): string {
  const tag = `cdk8s-audit/node:${process.version}`;
  if (docker(['image', 'inspect', tag], false).status === 0) return tag;
  if (docker(['image', 'inspect', KIND_BASE], false).status !== 0) throw new Error(`${KIND_BASE} is missing: run scripts/kind-prepare.sh (npm run test:kind does) first`);
  const dir = join(work, 'node-base');
  mkdirSync(dir);
  copyFileSync(process.execPath, join(dir, 'node'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${KIND_BASE}\nCOPY node /usr/local/bin/node\nRUN node --version\nENTRYPOINT []\nCMD ["node"]\n`);
  docker(['build', '-q', '-t', tag, dir]);
  return tag;
}

beforeAll(() => {
  nodeBase = offlineNodeBase();
  const tarball = pack(work);
  run('npm', ['init', '-y'], work, { ok: true });
  run('npm', ['install', tarball], work, { ok: true });
});

afterAll(() => {
  if (container) spawnSync(DOCKER, ['rm', '-f', container]);
  spawnSync(DOCKER, ['rmi', '-f', TAG]);
});

describe('cdk8s-audit sink image, from the installed package', () => {
  it('builds with --base and checks that the image runs sink serve --help', () => {
    const r = run(join(work, 'node_modules', '.bin', 'cdk8s-audit'), ['sink', 'image', '--tag', TAG, '--base', nodeBase], work, { env: { ...process.env } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(TAG);
    const config = JSON.parse(docker(['image', 'inspect', TAG]).stdout)[0].Config;
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint).toEqual(['node', '/app/lib/cli/main.js']);
    const files = docker(['run', '--rm', '--entrypoint', 'node', TAG, '-e', "console.log(require('fs').readdirSync('/app').sort().join(' '))"]).stdout.trim();
    expect(files).toBe('lib node_modules package.json');
  });

  it('the image serves the webhook with the files certs wrote (mutual TLS, 200 for an EventList)', async () => {
    const tls = join(work, 'tls');
    run(join(work, 'node_modules', '.bin', 'cdk8s-audit'), ['certs', '--out', tls, '--sans', '127.0.0.1'], work, { ok: true });
    // As a Secret volume would present them to UID 65532 (defaultMode 0644 in this test; 0440 + fsGroup in the pod).
    const mounted = join(work, 'mounted');
    mkdirSync(join(mounted, 'tls'), { recursive: true });
    mkdirSync(join(mounted, 'store'));
    chmodSync(join(mounted, 'store'), 0o777);
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) {
      copyFileSync(join(tls, f), join(mounted, 'tls', f));
      chmodSync(join(mounted, 'tls', f), 0o644);
    }
    writeFileSync(join(mounted, 'signing.key'), randomBytes(32), { mode: 0o644 });
    container = docker(['run', '-d', '-p', '127.0.0.1::8443', '-v', `${mounted}:/mnt:ro`, '-v', `${join(mounted, 'store')}:/store`, TAG,
      'sink', 'serve', '--store', '/store/s', '--key', '/mnt/signing.key', '--tls-dir', '/mnt/tls', '--listen', '0.0.0.0:8443', '--ops-listen', '0.0.0.0:8081']).stdout.trim();
    const port = docker(['port', container, '8443/tcp']).stdout.trim().split(':').pop();
    const deadline = Date.now() + 30_000;
    let status = 0;
    let lastError = '';
    while (Date.now() < deadline && status !== 200) {
      status = await new Promise<number>((resolve) => {
        const req = request(`https://127.0.0.1:${port}/audit`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          ca: readFileSync(join(tls, 'ca.crt')), cert: readFileSync(join(tls, 'apiserver-client.crt')), key: readFileSync(join(tls, 'apiserver-client.key')),
        }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
        req.on('error', (e) => { lastError = e.message; resolve(0); });
        req.end(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: [] }));
      });
      if (status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status, `${lastError}\n${docker(['logs', container], false).stderr}`).toBe(200);
  });
});
