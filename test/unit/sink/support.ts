/**
 * Helpers for the sink tests: a real `cdk8s-audit sink serve` child process (the built CLI), real TLS
 * material from src/tls/certs.ts, and an HTTPS client. Everything listens on 127.0.0.1 only.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createWebhookTlsBundle, WebhookTlsBundle } from '../../../src/tls/certs';
import { tempDir } from '../support/temp-dir';

export const ROOT = join(__dirname, '..', '..', '..');
export const MAIN = join(ROOT, 'lib', 'cli', 'main.js');

export interface SinkFiles {
  readonly dir: string;
  readonly store: string;
  readonly keyPath: string;
  readonly tls: WebhookTlsBundle;
  readonly tlsDir: string;
}

/** A temp dir (removed with the scope that made it, see tempDir) with an HMAC key, a store path and a TLS bundle written as a kubernetes.io/tls Secret mount. */
export async function makeSinkFiles(prefix: string): Promise<SinkFiles> {
  const dir = tempDir(prefix);
  const keyPath = join(dir, 'signing.key');
  writeFileSync(keyPath, randomBytes(32), { mode: 0o600 });
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1', 'localhost'] });
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir);
  writeFileSync(join(tlsDir, 'tls.crt'), tls.sink.certPem);
  writeFileSync(join(tlsDir, 'tls.key'), tls.sink.keyPem, { mode: 0o600 });
  writeFileSync(join(tlsDir, 'ca.crt'), tls.ca.certPem);
  return { dir, store: join(dir, 'store'), keyPath, tls, tlsDir };
}

export interface SinkProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly opsUrl: string;
  /** stderr so far (JSON log lines). */
  stderr(): string;
  stdout(): string;
  exited: Promise<number | string>;
  /** Resident set size of the child, from /proc, in bytes. */
  rss(): number;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts the built CLI's `sink serve` on 127.0.0.1 with free ports; resolves once it logs "listening". */
export async function startSink(files: SinkFiles, extra: string[] = [], options: { tls?: boolean; prefix?: string[] } = {}): Promise<SinkProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' before the sink tests`);
  const tlsArgs = options.tls === false ? ['--insecure-http'] : ['--tls-dir', files.tlsDir];
  const args = [MAIN, 'sink', 'serve', '--store', files.store, '--key', files.keyPath, ...tlsArgs, '--listen', '127.0.0.1:0', '--ops-listen', '127.0.0.1:0', ...extra];
  const [cmd, ...cmdArgs] = options.prefix ? [...options.prefix, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      r(code ?? signal ?? 'unknown');
    }),
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = err.split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) {
      const parsed = JSON.parse(line) as { url: string; ops: string };
      return {
        child,
        url: parsed.url,
        opsUrl: parsed.ops,
        stderr: () => err,
        stdout: () => out,
        exited,
        rss: () => {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
        },
      };
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sink did not start (exit ${child.exitCode ?? child.signalCode}):\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function stopSink(sink: SinkProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (sink.child.exitCode === null && sink.child.signalCode === null) sink.child.kill(signal);
  return sink.exited;
}

export interface Client {
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly caPem: string;
}

export function clientOf(files: SinkFiles): Client {
  return { caPem: files.tls.ca.certPem, certPem: files.tls.apiserverClient.certPem, keyPem: files.tls.apiserverClient.keyPem };
}

export interface Response {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** One request; resolves with the response, or rejects with the connection error. */
export function send(
  url: string,
  client: Client | undefined,
  body: string | Buffer | undefined,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent | false; timeoutMs?: number } = {},
): Promise<Response> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method ?? 'POST',
        headers: { 'Content-Type': 'application/json', ...(options.headers ?? {}) },
        ...(isHttps ? { ca: client?.caPem, cert: client?.certPem, key: client?.keyPem, agent: options.agent ?? false } : { agent: false }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface TestEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

export function makeEvent(i: number, stage = 'ResponseComplete', auditID: string = randomUUID()): TestEvent {
  const now = new Date().toISOString();
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage,
    requestURI: `/api/v1/namespaces/default/configmaps/cm-${i}`,
    verb: 'get',
    user: { username: 'alice' },
    requestReceivedTimestamp: now,
    stageTimestamp: now,
  };
}

export function eventList(items: unknown[]): string {
  return JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
}

/** Parses the JSON log lines of a sink. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Reads a Prometheus sample value, e.g. metric(text, 'audit_sink_rejects_total{reason="not_json"}'). */
export function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  if (!line) throw new Error(`metric ${sample} not found`);
  return Number(line.slice(sample.length + 1));
}
