/**
 * The real kube-apiserver's webhook backend delivering to the real `cdk8s-audit sink serve` (the built CLI
 * as a child process): mutual TLS with certificates from src/tls/certs.ts and a kubeconfig from
 * src/backends/kubeconfig.ts. The sink is killed with SIGKILL mid-run and restarted on the same port;
 * the apiserver's retries and the sink's dedupe must still give every event exactly once. Afterwards
 * `sink verify` passes and the sink holds the same (auditID, stage) pairs as the log backend.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { AuditEvent, brief, droppedEventsFromStderr, readJsonAuditLog } from './support/audit-events';
import { logBackendArgs, writePolicyFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { freePort, makeTempDir, removeTempDir, RunningProcess, sleep, startProcess, stopProcess } from './support/processes';
import { runWorkload } from './support/workload';
import { POLICY_SECRETS_METADATA } from './policies';

const MAIN = join(__dirname, '..', '..', 'lib', 'cli', 'main.js');
const CLIENT_USER = 'kube-apiserver-audit';
const key = (e: { auditID: string; stage: string }) => `${e.auditID} ${e.stage}`;

interface Sink {
  readonly proc: RunningProcess;
  readonly opsUrl: string;
}

async function startSink(dir: string, port: number, run: number): Promise<Sink> {
  const logDir = join(dir, `sink-run-${run}`);
  mkdirSync(logDir);
  const proc = startProcess('sink', process.execPath, [
    MAIN, 'sink', 'serve',
    '--store', join(dir, 'store'),
    '--key', join(dir, 'signing.key'),
    '--tls-dir', join(dir, 'tls'),
    '--client-name', CLIENT_USER,
    '--listen', `127.0.0.1:${port}`,
    '--ops-listen', '127.0.0.1:0',
    '--segment-max-bytes', '256Ki',
  ], logDir);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = proc.stderr().split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) return { proc, opsUrl: (JSON.parse(line) as { ops: string }).ops };
    if (!proc.isRunning() || Date.now() > deadline) throw new Error(`sink did not start: ${proc.stderr()}`);
    await sleep(50);
  }
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line ? Number(line.slice(sample.length + 1)) : NaN;
}

describe.each(kubernetesVersions())('sink serve receives the real webhook, kube-apiserver v%s', (version) => {
  test('every event arrives once over mTLS despite a kill -9 of the sink; sink verify passes; same events as the log backend', async () => {
    const dir = makeTempDir('sink-delivery');
    try {
      const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: CLIENT_USER });
      mkdirSync(join(dir, 'tls'));
      writeFileSync(join(dir, 'tls', 'tls.crt'), tls.sink.certPem);
      writeFileSync(join(dir, 'tls', 'tls.key'), tls.sink.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'tls', 'ca.crt'), tls.ca.certPem);
      writeFileSync(join(dir, 'signing.key'), randomBytes(32), { mode: 0o600 });
      const port = await freePort();
      let sink = await startSink(dir, port, 1);
      const kubeconfig = join(dir, 'webhook-kubeconfig.yaml');
      writeFileSync(
        kubeconfig,
        renderWebhookKubeconfig({ server: `https://127.0.0.1:${port}/audit`, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }),
        { mode: 0o600 },
      );
      const logPath = join(dir, 'audit.log');
      const cp = await startControlPlane({
        version,
        extraArgs: [
          ...logBackendArgs(writePolicyFile(dir, POLICY_SECRETS_METADATA), logPath),
          `--audit-webhook-config-file=${kubeconfig}`,
          '--audit-webhook-batch-max-wait=1s',
          // Retries wait 0.5 s, ×1.5 for 5 steps (about 6.5 s in all): time enough for the sink to restart.
          '--audit-webhook-initial-backoff=500ms',
        ],
      });
      let apiserverStderr = '';
      let beforeKill = 0;
      try {
        await runWorkload(cp);
        const deadline = Date.now() + 20_000;
        while (!(metric(await getText(`${sink.opsUrl}/metrics`), 'audit_sink_events_total') > 0) && Date.now() < deadline) await sleep(200);
        beforeKill = metric(await getText(`${sink.opsUrl}/metrics`), 'audit_sink_events_total');
        expect(beforeKill, 'no event reached the sink while the apiserver ran').toBeGreaterThan(0);
        // Crash the sink while requests keep coming, then bring it back on the same port.
        await stopProcess(sink.proc, 10_000, 'SIGKILL');
        const during = runWorkload(cp);
        // Down for longer than one batch interval (1 s), shorter than the retry window (about 6.5 s).
        await sleep(1_200);
        sink = await startSink(dir, port, 2);
        await during;
        await runWorkload(cp);
      } finally {
        await cp.stop(); // one SIGTERM: the apiserver flushes its webhook buffer
        apiserverStderr = cp.apiserver.stderr();
      }
      const metrics = await getText(`${sink.opsUrl}/metrics`);
      await stopProcess(sink.proc, 30_000, 'SIGTERM');
      expect(await sink.proc.exited).toBe(0);
      expect(metric(metrics, 'audit_sink_tls_handshake_failures_total')).toBe(0);
      expect(metrics.split('\n').filter((l) => l.startsWith('audit_sink_rejects_total{') && !l.endsWith(' 0'))).toEqual([]);

      const verify = spawnSync(process.execPath, [MAIN, 'sink', 'verify', '--store', join(dir, 'store'), '--key', join(dir, 'signing.key'), '--events'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
      expect(verify.status, verify.stderr).toBe(0);
      const sinkEvents = verify.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      const sinkKeys = new Map(sinkEvents.map((e) => [key(e), e]));
      expect(sinkEvents.length - sinkKeys.size, 'events stored twice').toBe(0);

      const logEvents = readJsonAuditLog(logPath);
      const logKeys = new Map(logEvents.map((e) => [key(e), e]));
      // Requests that finish while the apiserver shuts down (its own watches, a CRD status update answered 504)
      // complete after the webhook buffer closed; the apiserver reports each such drop by auditID ("audit backend
      // shut down"). That loss is the apiserver's, not the sink's. Everything else the log has must be in the sink.
      const droppedAtShutdown = new Set(
        droppedEventsFromStderr(apiserverStderr)
          .filter((d) => d.plugin === 'buffered' && d.reason === 'audit backend shut down')
          .map((d) => `${d.auditID} ${d.stage}`),
      );
      const missing = [...logKeys.keys()].filter((k) => !sinkKeys.has(k) && !droppedAtShutdown.has(k));
      const extra = [...sinkKeys.keys()].filter((k) => !logKeys.has(k));
      const webhookErrors = apiserverStderr.split('\n').filter((l) => /audit plugin 'webhook'/.test(l));
      console.log(
        `v${version}: ${sinkKeys.size} events in the sink (${beforeKill} before the kill -9), ${logKeys.size} in the log; ` +
          `${droppedAtShutdown.size} dropped by the apiserver at its shutdown (reported), ${webhookErrors.length} webhook errors while the sink was down; ${verify.stderr.trim()}`,
      );
      expect(missing.map((k) => brief(logKeys.get(k)!)).slice(0, 10), `${missing.length} logged events never reached the sink`).toEqual([]);
      expect(extra.slice(0, 10), 'events in the sink that the log backend does not have').toEqual([]);
      expect(sinkKeys.size).toBeGreaterThan(beforeKill);
      // The sink stored each event exactly as the apiserver sent it: same level, same user, same URI.
      for (const [k, e] of sinkKeys) {
        const l = logKeys.get(k)!;
        expect([e.level, e.user.username, e.requestURI, e.verb]).toEqual([l.level, l.user.username, l.requestURI, l.verb]);
      }
    } finally {
      removeTempDir(dir);
    }
  });
});
