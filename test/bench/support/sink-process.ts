/**
 * The project's sink as it runs in a cluster — the built `cdk8s-audit sink serve` in its own process, mTLS —
 * started with the e2e suite's helpers (test/e2e/support/sink-process.ts), plus what the benchmarks need on
 * top: the audit URL, a webhook kubeconfig for the apiserver, its metrics and its peak memory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderWebhookKubeconfig } from '../../../src/backends/kubeconfig';
import { createWebhookTlsBundle, WebhookTlsBundle } from '../../../src/tls/certs';
import { freePort, RunningProcess, stopProcess } from '../../e2e/support/processes';
import { getText, metricValue, SINK_CLIENT_NAME, startSinkProcess, writeSinkFiles } from '../../e2e/support/sink-process';
import { peakRssBytes } from './proc';

export interface SinkProcess {
  readonly proc: RunningProcess;
  /** The audit endpoint, https://127.0.0.1:PORT/audit. */
  readonly url: string;
  readonly tls: WebhookTlsBundle;
  /** A webhook kubeconfig pointing at the sink with the apiserver's client certificate. */
  readonly kubeconfigPath: string;
  /** One sample of the sink's /metrics (0 when absent). */
  metric(sample: string): Promise<number>;
  /** Peak resident set size of the sink process so far (VmHWM), bytes. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

/** Starts `sink serve` in `dir` (store, key, TLS files and logs go there). */
export async function startSink(dir: string): Promise<SinkProcess> {
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
  writeSinkFiles(dir, tls);
  const port = await freePort();
  const sink = await startSinkProcess(dir, port);
  const url = `https://127.0.0.1:${port}/audit`;
  const kubeconfigPath = join(dir, 'webhook-kubeconfig.yaml');
  writeFileSync(
    kubeconfigPath,
    renderWebhookKubeconfig({ server: url, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }),
    { mode: 0o600 },
  );
  const pid = sink.proc.child.pid;
  let peak = 0;
  const sample = () => (peak = Math.max(peak, peakRssBytes(pid)));
  return {
    proc: sink.proc,
    url,
    tls,
    kubeconfigPath,
    metric: async (name) => metricValue(await getText(`${sink.opsUrl}/metrics`), name) || 0,
    peakRssBytes: sample,
    stop: async () => {
      sample();
      await stopProcess(sink.proc, 30_000, 'SIGTERM');
    },
  };
}
