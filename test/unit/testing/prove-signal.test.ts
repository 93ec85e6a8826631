import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterAudit, writeNodeFiles } from '../../../src/gitops';
import { ROOT } from '../../support/cli';
import { tempDir } from '../support/temp-dir';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('prove --kind interrupted', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s while the cluster is being created deletes it, then ends by that signal', async (signal) => {
    const dir = tempDir('prove-signal');
    const app = new App({ outdir: join(dir, 'dist') });
    new ClusterAudit(app, 'cluster-audit', { kubernetesVersion: KubernetesVersion.V1_37, presets: [Preset.CIS] });
    app.synth();
    writeNodeFiles(app, { cwd: dir });
    // A stand-in for kind that records its calls; `create` takes a while, as the real one does.
    const calls = join(dir, 'kind-calls.log');
    const fakeKind = join(dir, 'kind');
    writeFileSync(fakeKind, `#!/bin/sh\necho "$*" >> '${calls}'\n[ "$1" = create ] && sleep 5\nexit 0\n`);
    chmodSync(fakeKind, 0o755);
    const child = spawn(process.execPath, [join(ROOT, 'lib', 'cli', 'main.js'), 'prove', '--kind', '--name', 'sigtest'], {
      cwd: dir, env: { ...process.env, CDK8S_AUDIT_KIND: fakeKind, CDK8S_AUDIT_KUBECTL: '/bin/true' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, sig) => done({ code, signal: sig })));
    for (let i = 0; i < 200 && !(existsSync(calls) && readFileSync(calls, 'utf8').includes('create cluster')); i++) await sleep(50);
    child.kill(signal);
    const end = await ended;
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    expect(lines[lines.length - 2]).toMatch(/^create cluster --name sigtest /);
    expect(lines[lines.length - 1]).toBe('delete cluster --name sigtest');
    expect(stdout).toContain(`${signal}: deleting kind cluster sigtest`);
    expect(end.signal).toBe(signal);
  });
});
