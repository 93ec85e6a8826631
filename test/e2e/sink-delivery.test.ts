/**
 * The real kube-apiserver's webhook backend delivering to the real `cdk8s-audit sink serve` (the built CLI
 * as a child process): mutual TLS with certificates from src/tls/certs.ts and a kubeconfig from
 * src/backends/kubeconfig.ts. The sink is killed with SIGKILL mid-run and restarted on the same port;
 * the apiserver's retries and the sink's dedupe must still give every event exactly once. Afterwards
 * `sink verify` passes and the sink holds the same (auditID, stage) pairs as the log backend.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { brief, droppedEventsFromStderr, readJsonAuditLog } from './support/audit-events';
import { logBackendArgs, writePolicyFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { freePort, makeTempDir, removeTempDir, sleep, stopProcess } from './support/processes';
import { SINK_CLIENT_NAME, SinkProcess, getText, metricValue, startSinkProcess, verifySinkStore, writeSinkFiles } from './support/sink-process';
import { runWorkload } from './support/workload';
import { POLICY_SECRETS_METADATA } from './policies';

const key = (e: { auditID: string; stage: string }) => `${e.auditID} ${e.stage}`;
const startSink = (dir: string, port: number, run: number): Promise<SinkProcess> =>
  startSinkProcess(dir, port, ['--segment-max-bytes', '256Ki'], `sink-run-${run}`);
const metric = metricValue;

describe.each(kubernetesVersions())('sink serve receives the real webhook, kube-apiserver v%s', (version) => {
  test('every event arrives once over mTLS despite a kill -9 of the sink; sink verify passes; same events as the log backend', async () => {
    const dir = makeTempDir('sink-delivery');
    try {
      const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
      writeSinkFiles(dir, tls);
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

      const verify = verifySinkStore(sink);
      expect(verify.status, verify.stderr).toBe(0);
      const sinkEvents = verify.events;
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
