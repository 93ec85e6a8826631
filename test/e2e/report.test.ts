/**
 * `cdk8s-audit report` on what the real kube-apiserver records: the PCI DSS preset's example requests and
 * the workload, written by the log backend (rotated at 1 MiB and gzip-compressed) and by the webhook into
 * the real `sink serve` store. The report reads the directory of rotations (.gz included) and the verified
 * store, and both give the same statuses; a deliberately wrong policy that records Secret reads at
 * RequestResponse makes report say "violated" (naming the auditID, never the secret) and exit 1.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { Level, PRESET_NAMES, PolicyDocument, getPreset } from '../../src';
import { ProbeCaller } from '../../src/presets';
import { renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { logBackendArgs, writePolicyFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { Caller } from './support/kube-client';
import { freePort, makeTempDir, removeTempDir, sleep, stopProcess } from './support/processes';
import { CLI_MAIN, SINK_CLIENT_NAME, getText, metricValue, startSinkProcess, writeSinkFiles } from './support/sink-process';
import { runWorkload } from './support/workload';
import { spawnSync } from 'node:child_process';
import { KubernetesVersion } from '../../src/core/kubernetes-version';


interface JsonReport {
  inputs: { source: string; kind: string; events: number; otherLines: number; verified?: unknown }[];
  totals: { events: number };
  requirements: { id: string; status: string; reasons: string[]; evidence?: { count: number; byAbsence: boolean; violationCount: number; violations: { auditID: string; level: string; required: string }[] } }[];
}

function report(args: string[]): { code: number; json: JsonReport; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_MAIN, 'report', '--format', 'json', '--out', '-', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 2 || !r.stdout) throw new Error(`report failed (${r.status}): ${r.stderr}`);
  return { code: r.status ?? -1, json: JSON.parse(r.stdout), stderr: r.stderr };
}
const statuses = (j: JsonReport) => Object.fromEntries(j.requirements.map((r) => [r.id, r.status]));

function callerFor(cp: ControlPlane, as: ProbeCaller): Caller {
  if (as === ProbeCaller.ANONYMOUS) return { anonymous: true };
  return { token: (as === ProbeCaller.ADMIN ? cp.users.admin : cp.users.alice).token };
}

/** Every example request of the preset's requirement table, as the right caller. */
async function sendProbes(cp: ControlPlane, names: string): Promise<void> {
  for (const req of getPreset(names, { kubernetesVersion: KubernetesVersion.of(cp.version) }).requirements) {
    for (const probe of req.probes) {
      await cp.client.request(probe.method, probe.path, probe.body, { caller: callerFor(cp, probe.as), contentType: probe.method === 'PATCH' ? 'application/merge-patch+json' : undefined });
    }
  }
}

/** Lines of every file in the log directory (decompressed), so the report's count can be checked. */
function linesIn(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    const buf = readFileSync(join(dir, f));
    n += (f.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8').split('\n').filter((l) => l.trim()).length;
  }
  return n;
}

describe.each(kubernetesVersions())('report on the real kube-apiserver v%s', (newest) => {
  test('the PCI DSS preset\'s traffic evidences its requirements from .gz rotations and from the verified sink store alike', async () => {
    const dir = makeTempDir('report-e2e');
    try {
      const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
      writeSinkFiles(dir, tls);
      const port = await freePort();
      const sink = await startSinkProcess(dir, port);
      const kubeconfig = join(dir, 'webhook-kubeconfig.yaml');
      writeFileSync(kubeconfig, renderWebhookKubeconfig({ server: `https://127.0.0.1:${port}/audit`, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }), { mode: 0o600 });
      const logPath = join(dir, 'log', 'audit.log');
      const policyFile = writePolicyFile(dir, getPreset('pci-dss', { kubernetesVersion: KubernetesVersion.of(newest) }).policy);
      const cp = await startControlPlane({
        version: newest,
        extraArgs: [
          ...logBackendArgs(policyFile, logPath, ['--audit-log-maxsize=1', '--audit-log-maxbackup=0', '--audit-log-compress=true']),
          `--audit-webhook-config-file=${kubeconfig}`, '--audit-webhook-batch-max-wait=1s',
        ],
      });
      const logDir = dirname(logPath);
      try {
        await sendProbes(cp, 'pci-dss');
        await runWorkload(cp);
        // ServiceAccount changes are credential changes, recorded with both bodies: 8 × 2 × 200 KiB rotates the 1 MiB log.
        const pad = 'x'.repeat(200 * 1024);
        for (let i = 0; i < 8; i++) {
          await cp.client.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `report-pad-${i}`, annotations: { pad } } });
        }
        // lumberjack compresses rotations in the background: wait for it while the apiserver runs.
        const deadline = Date.now() + 30_000;
        while (!readdirSync(logDir).some((f) => f.endsWith('.gz')) && Date.now() < deadline) await sleep(200);
      } finally {
        await cp.stop();
      }
      const deadline = Date.now() + 20_000;
      while (metricValue(await getText(`${sink.opsUrl}/metrics`), 'audit_sink_events_total') === 0 && Date.now() < deadline) await sleep(200);
      await stopProcess(sink.proc, 30_000, 'SIGTERM');
      expect(readdirSync(logDir).filter((f) => f.endsWith('.gz')).length).toBeGreaterThan(0);

      const fromLog = report(['--preset', 'pci-dss', '--audit-log', logDir]);
      expect(fromLog.json.inputs[0]).toMatchObject({ kind: 'log', otherLines: 0 });
      expect(fromLog.json.totals.events).toBe(linesIn(logDir)); // every line of every rotation, .gz included
      const log = statuses(fromLog.json);
      for (const id of ['10.2.1.1', '10.2.1.2', '10.2.1.3', '10.2.1.4', '10.2.1.5', '10.2.1.6', '10.2.1.7', '10.2.2']) expect(log[id], id).toBe('evidenced');
      expect(log['10.5.1']).toBe('met-by-settings');
      // Node log files are not protected: only a verified sink store meets 10.3, so the log alone exits 1.
      expect(log['10.3']).toBe('not-met-by-settings');
      expect(fromLog.code).toBe(1);

      const fromStore = report(['--preset', 'pci-dss', '--sink-store', sink.storeDir, '--key', sink.keyFile]);
      expect(fromStore.json.inputs[0]).toMatchObject({ kind: 'sink-store', verified: expect.objectContaining({ firstSeq: 1 }) });
      expect(statuses(fromStore.json)).toEqual({ ...log, '10.3': 'met-by-settings' });
      expect(fromStore.code).toBe(0);
    } finally {
      removeTempDir(dir);
    }
  });

  test.each(PRESET_NAMES)('%s: its own example requests and the workload evidence every requirement that has an evidence selector; nothing is violated', async (name) => {
    const dir = makeTempDir(`report-e2e-${name}`);
    try {
      const logPath = join(dir, 'audit.log');
      const cp = await startControlPlane({ version: newest, extraArgs: logBackendArgs(writePolicyFile(dir, getPreset(name, { kubernetesVersion: KubernetesVersion.of(newest) }).policy), logPath) });
      try {
        await sendProbes(cp, name);
        await runWorkload(cp);
      } finally {
        await cp.stop();
      }
      const { json } = report(['--preset', name, '--audit-log', logPath]);
      for (const r of json.requirements) {
        const why = `${name} ${r.id}: ${r.reasons.join('; ')}`;
        // Only protection may be unmet: a node log is not a verified sink store.
        const onlyProtection = r.status === 'not-met-by-settings' && r.reasons.every((x) => x.startsWith('not met by settings: protection'));
        if (r.evidence) {
          expect(r.evidence.count > 0 || r.evidence.byAbsence, why).toBe(true);
          expect(r.evidence.violationCount, why).toBe(0);
          expect(r.status === 'evidenced' || onlyProtection, why).toBe(true);
        } else {
          // (a maximum retention the node log's flags cannot bound is judged by the log given: evidenced)
          expect(r.status === 'met-by-settings' || (r.status === 'evidenced' && r.reasons.some((x) => x.includes('observed now'))) || onlyProtection, why).toBe(true);
        }
      }
    } finally {
      removeTempDir(dir);
    }
  });

  test('a wrong policy that records Secret reads at RequestResponse: report says violated (auditID, levels), never the secret, and exits 1', async () => {
    const dir = makeTempDir('report-e2e-wrong');
    try {
      const preset = getPreset('pci-dss', { kubernetesVersion: KubernetesVersion.of(newest) }).policy;
      const wrong: PolicyDocument = { ...preset, rules: [{ level: Level.REQUEST_RESPONSE, resources: [{ group: '', resources: ['secrets'] }] }, ...preset.rules] };
      const policyFile = writePolicyFile(dir, wrong);
      const logPath = join(dir, 'audit.log');
      const cp = await startControlPlane({ version: newest, extraArgs: logBackendArgs(policyFile, logPath) });
      const canary = 'report-e2e-canary-7f3a';
      let readId: string | undefined;
      try {
        await cp.client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cde' } });
        await cp.client.request('POST', '/api/v1/namespaces/cde/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: canary } });
        readId = (await cp.client.request('GET', '/api/v1/namespaces/cde/secrets/db')).auditId;
      } finally {
        await cp.stop();
      }
      expect(readFileSync(logPath, 'utf8')).toContain(Buffer.from(canary).toString('base64')); // the wrong policy really leaked it
      const r = report(['--preset', 'pci-dss', '--audit-log', logPath]);
      expect(r.code).toBe(1);
      const req = r.json.requirements.find((x) => x.id === '10.2.1.1')!;
      expect(req.status).toBe('violated');
      expect(req.evidence!.violations).toContainEqual(expect.objectContaining({ auditID: readId, level: 'RequestResponse', required: 'exactly Metadata' }));
      const md = spawnSync(process.execPath, [CLI_MAIN, 'report', '--preset', 'pci-dss', '--audit-log', logPath, '--format', 'md', '--out', '-'], { encoding: 'utf8' }).stdout;
      for (const text of [JSON.stringify(r.json), md]) {
        expect(text).not.toContain(canary);
        expect(text).not.toContain(Buffer.from(canary).toString('base64'));
      }
      // Given the deployed policy, the report also says the policy itself does not meet 10.2.1.1.
      const judged = report(['--preset', 'pci-dss', '--policy', policyFile, '--audit-log', logPath]);
      expect(judged.json.requirements.find((x) => x.id === '10.2.1.1')!.reasons).toContainEqual(expect.stringMatching(/^not met by the deployed policy: GET \/api\/v1\/namespaces\/cde\/secrets\/db-credentials .*rule #0 gives RequestResponse, needs exactly Metadata$/));
    } finally {
      removeTempDir(dir);
    }
  });
});
