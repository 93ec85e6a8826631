/**
 * The project's sink as it runs in a cluster: the built `cdk8s-audit sink serve` in its own process,
 * mutual TLS with certificates from src/tls/certs.ts, a fresh store, plus the webhook kubeconfig the
 * apiserver (or a load generator) uses to reach it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { renderWebhookKubeconfig } from '../../../src/backends/kubeconfig';
import { createWebhookTlsBundle, WebhookTlsBundle } from '../../../src/tls/certs';
import { RunningProcess, sleep, startProcess, stopProcess } from '../../e2e/support/processes';
import { peakRssBytes } from './proc';

export const SINK_CLI = resolve(__dirname, '..', '..', '..', 'lib', 'cli', 'main.js');
export const APISERVER_CLIENT = 'kube-apiserver-audit';

export interface SinkProcess {
  readonly proc: RunningProcess;
  /** The audit endpoint, https://127.0.0.1:PORT/audit. */
  readonly url: string;
  readonly opsUrl: string;
  readonly tls: WebhookTlsBundle;
  readonly storeDir: string;
  /** A webhook kubeconfig pointing at the sink with the apiserver's client certificate. */
  readonly kubeconfigPath: string;
  metrics(): Promise<Map<string, number>>;
  /** Peak resident set size of the sink process so far (VmHWM from /proc), bytes. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

export interface SinkOptions {
  /** More `sink serve` arguments. */
  readonly args?: readonly string[];
  /** Node options for the sink process (e.g. --cpu-prof to profile it). */
  readonly nodeArgs?: readonly string[];
}

/** Starts `sink serve` in `dir` (store, key, TLS files and logs go there). */
export async function startSink(dir: string, options: SinkOptions = {}): Promise<SinkProcess> {
  if (!existsSync(SINK_CLI)) throw new Error(`${SINK_CLI} is missing: run \`npm run build\` first (npm run bench does)`);
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: APISERVER_CLIENT });
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  writeFileSync(join(tlsDir, 'tls.crt'), tls.sink.certPem);
  writeFileSync(join(tlsDir, 'tls.key'), tls.sink.keyPem, { mode: 0o600 });
  writeFileSync(join(tlsDir, 'ca.crt'), tls.ca.certPem);
  writeFileSync(join(dir, 'signing.key'), randomBytes(32), { mode: 0o600 });
  const storeDir = join(dir, 'store');
  const proc = startProcess('sink', process.execPath, [
    ...(options.nodeArgs ?? []),
    SINK_CLI, 'sink', 'serve',
    '--store', storeDir,
    '--key', join(dir, 'signing.key'),
    '--tls-dir', tlsDir,
    '--client-name', APISERVER_CLIENT,
    '--listen', '127.0.0.1:0',
    '--ops-listen', '127.0.0.1:0',
    ...(options.args ?? []),
  ], dir);
  let listening: { url: string; ops: string } | undefined;
  const deadline = Date.now() + 30_000;
  while (!listening) {
    const line = proc.stderr().split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) listening = JSON.parse(line) as { url: string; ops: string };
    else if (!proc.isRunning() || Date.now() > deadline) throw new Error(`sink serve did not start: ${proc.stderr().slice(-2000)}`);
    else await sleep(50);
  }
  const kubeconfigPath = join(dir, 'webhook-kubeconfig.yaml');
  writeFileSync(
    kubeconfigPath,
    renderWebhookKubeconfig({ server: listening.url, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }),
    { mode: 0o600 },
  );
  const opsUrl = listening.ops;
  const pid = proc.child.pid;
  let peak = 0;
  return {
    proc,
    url: listening.url,
    opsUrl,
    tls,
    storeDir,
    kubeconfigPath,
    metrics: async () => parseMetrics(await getText(`${opsUrl}/metrics`)),
    peakRssBytes: () => (peak = Math.max(peak, peakRssBytes(pid))),
    stop: async () => {
      peak = Math.max(peak, peakRssBytes(pid));
      await stopProcess(proc, 30_000, 'SIGTERM');
    },
  };
}

function getText(url: string): Promise<string> {
  return new Promise((resolveText, reject) => {
    request(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolveText(body));
    })
      .on('error', reject)
      .end();
  });
}

/** Prometheus text: sample name with labels → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
