/** The built `cdk8s-audit sink serve` as a child process, and reading its metrics and store. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { renderWebhookKubeconfig } from '../../../src/backends/kubeconfig';
import type { WebhookTlsBundle } from '../../../src/tls/certs';
import type { AuditEvent } from './audit-events';
import { RunningProcess, sleep, startProcess } from './processes';

export const CLI_MAIN = join(__dirname, '..', '..', '..', 'lib', 'cli', 'main.js');
/** The client CN `cdk8s-audit certs` issues and the sink admits by default. */
export const SINK_CLIENT_NAME = 'kube-apiserver-audit';

export interface SinkProcess {
  readonly proc: RunningProcess;
  /** Plain-HTTP ops listener: /healthz, /readyz, /metrics. */
  readonly opsUrl: string;
  readonly storeDir: string;
  readonly keyFile: string;
}

/** Writes the sink's TLS directory (tls.crt, tls.key, ca.crt) and an HMAC signing key under `dir`. */
export function writeSinkFiles(dir: string, tls: WebhookTlsBundle): { tlsDir: string; keyFile: string } {
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  writeFileSync(join(tlsDir, 'tls.crt'), tls.sink.certPem);
  writeFileSync(join(tlsDir, 'tls.key'), tls.sink.keyPem, { mode: 0o600 });
  writeFileSync(join(tlsDir, 'ca.crt'), tls.ca.certPem);
  const keyFile = join(dir, 'signing.key');
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  return { tlsDir, keyFile };
}

/** The apiserver's webhook kubeconfig for a sink on 127.0.0.1:`port` (mutual TLS from `tls`), written to `file`. */
export function writeSinkWebhookKubeconfig(file: string, tls: WebhookTlsBundle, port: number): string {
  const server = `https://127.0.0.1:${port}/audit`;
  writeFileSync(file, renderWebhookKubeconfig({ server, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }), { mode: 0o600 });
  return file;
}

/** Starts `sink serve` on 127.0.0.1:`port` and waits for its "listening" log line. */
export async function startSinkProcess(dir: string, port: number, extraArgs: string[] = [], logName = 'sink'): Promise<SinkProcess> {
  const logDir = join(dir, logName);
  mkdirSync(logDir, { recursive: true });
  const storeDir = join(dir, 'store');
  const keyFile = join(dir, 'signing.key');
  // e.g. CDK8S_AUDIT_SINK_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the sink under a benchmark.
  const nodeArgs = (process.env.CDK8S_AUDIT_SINK_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = startProcess('sink', process.execPath, [
    ...nodeArgs,
    CLI_MAIN, 'sink', 'serve',
    '--store', storeDir, '--key', keyFile, '--tls-dir', join(dir, 'tls'),
    '--client-name', SINK_CLIENT_NAME, '--listen', `127.0.0.1:${port}`, '--ops-listen', '127.0.0.1:0',
    ...extraArgs,
  ], logDir);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = proc.stderr().split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) return { proc, opsUrl: (JSON.parse(line) as { ops: string }).ops, storeDir, keyFile };
    if (!proc.isRunning() || Date.now() > deadline) throw new Error(`sink did not start (run 'npm run build' first?): ${proc.stderr()}`);
    await sleep(50);
  }
}

export function getText(url: string): Promise<string> {
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

/** One sample of a Prometheus text exposition, NaN when absent. */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line ? Number(line.slice(sample.length + 1)) : NaN;
}

/** Runs `sink verify --events`; returns the exit status, its report and the verified events. */
export function verifySinkStore(sink: Pick<SinkProcess, 'storeDir' | 'keyFile'>): { status: number | null; stderr: string; events: AuditEvent[] } {
  const r = spawnSync(process.execPath, [CLI_MAIN, 'sink', 'verify', '--store', sink.storeDir, '--key', sink.keyFile, '--events'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const events = r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent) : [];
  return { status: r.status, stderr: r.stderr, events };
}

/**
 * Waits (up to 20 s) until the sink's alert rules have evaluated every stored event, and returns the last
 * /metrics text read, so the caller asserts on what the rules saw.
 */
export async function waitForRulesCaughtUp(opsUrl: string): Promise<string> {
  let metrics = '';
  for (let i = 0; i < 200; i++) {
    metrics = await getText(`${opsUrl}/metrics`);
    if (metricValue(metrics, 'audit_sink_rules_lag_events') === 0 && metricValue(metrics, 'audit_sink_rules_cursor') === metricValue(metrics, 'audit_sink_last_sequence')) break;
    await sleep(100);
  }
  return metrics;
}
