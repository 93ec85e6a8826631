/**
 * The sink's Elasticsearch output judged by a real search engine: the real kube-apiserver's webhook →
 * the built `cdk8s-audit sink serve --forward-elasticsearch` → a real OpenSearch node (version in
 * scripts/versions.env, fetched by scripts/fetch-opensearch.sh, started by support/opensearch.ts).
 * What the index holds is compared with what `sink verify` finds in the sink's store, by _id
 * (<auditID>-<stage>): every durable event exactly once, across a kill -9 of the sink, a document the
 * engine refuses (mapping conflict), and the engine being down for a while. OpenSearch without its
 * security plugin serves plain HTTP, so TLS and credentials are checked through a TLS-terminating,
 * basic-auth-checking proxy this test makes in front of it (docs/sink.md says so).
 */
import { createServer as createHttpsServer, Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PolicyDocument } from '../../src/policy/model';
import { renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { createCertificateAuthority, createWebhookTlsBundle, issueServingCertificate, WebhookTlsBundle } from '../../src/tls/certs';
import { writePolicyFile } from './support/audit-files';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { OpenSearchNode, osRequest, startOpenSearch } from './support/opensearch';
import { freePort, makeTempDir, removeTempDir, sleep, stopProcess } from './support/processes';
import { SINK_CLIENT_NAME, SinkProcess, getText, startSinkProcess, verifySinkStore, writeSinkFiles } from './support/sink-process';
import { runWorkload } from './support/workload';

const version = kubernetesVersions()[0];
const CONFLICT_NAMESPACE = 'os-conflict';

/** Metadata for everything (bodies would let dynamic mapping refuse documents, which only the conflict test wants). */
const POLICY_METADATA: PolicyDocument = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules: [
    { level: 'None', nonResourceURLs: ['/healthz*', '/readyz*', '/livez*'] },
    { level: 'Request', namespaces: [CONFLICT_NAMESPACE], resources: [{ group: '', resources: ['configmaps'] }], verbs: ['create'], omitStages: ['RequestReceived'] },
    { level: 'Metadata' },
  ],
};

let node: OpenSearchNode;
let nodeDir: string;

beforeAll(async () => {
  nodeDir = makeTempDir('opensearch');
  const t0 = Date.now();
  node = await startOpenSearch(nodeDir);
  console.log(`OpenSearch node yellow after ${((Date.now() - t0) / 1000).toFixed(1)} s at ${node.url}`);
}, 240_000);

afterAll(async () => {
  await node?.stop();
  if (nodeDir) removeTempDir(nodeDir);
}, 90_000);

interface Run {
  readonly dir: string;
  readonly tls: WebhookTlsBundle;
  readonly port: number;
  readonly cp: ControlPlane;
  sink: SinkProcess;
}

/** A metric of the sink's Elasticsearch output (labels ignored: there is one output). */
function outputMetric(text: string, name: string, extraLabel = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('elasticsearch') && l.includes(extraLabel));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

function sinkArgs(url: string, index: string, extra: readonly string[]): string[] {
  return [
    '--forward-elasticsearch', url, '--forward-elasticsearch-index', index,
    '--forward-batch-max-wait', '200ms', '--forward-retry-initial', '200ms', '--forward-retry-max', '2s',
    ...(url.startsWith('http:') ? ['--forward-insecure-http'] : []),
    ...extra,
  ];
}

async function startRun(name: string, index: string, sinkExtra: readonly string[] = [], url = node.url): Promise<Run> {
  const dir = makeTempDir(`opensearch-${name}`);
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
  writeSinkFiles(dir, tls);
  const port = await freePort();
  const sink = await startSinkProcess(dir, port, sinkArgs(url, index, sinkExtra), 'sink-run-1');
  const kubeconfig = join(dir, 'webhook-kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    renderWebhookKubeconfig({ server: `https://127.0.0.1:${port}/audit`, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem }),
    { mode: 0o600 },
  );
  const cp = await startControlPlane({
    version,
    extraArgs: [
      `--audit-policy-file=${writePolicyFile(dir, POLICY_METADATA)}`,
      `--audit-webhook-config-file=${kubeconfig}`,
      '--audit-webhook-batch-max-wait=1s',
      '--audit-webhook-initial-backoff=500ms',
    ],
  });
  return { dir, tls, port, cp, sink };
}

/** After a failure too: no apiserver or sink outlives its test (later files would share the two cores with it). */
async function cleanUp(run: Run): Promise<void> {
  await run.cp.stop(); // idempotent
  if (run.sink.proc.isRunning()) await stopProcess(run.sink.proc, 10_000, 'SIGKILL');
  removeTempDir(run.dir);
}

async function restartSink(run: Run, index: string, n: number, sinkExtra: readonly string[] = [], url = node.url): Promise<void> {
  run.sink = await startSinkProcess(run.dir, run.port, sinkArgs(url, index, sinkExtra), `sink-run-${n}`);
}

/** Waits until the output has forwarded everything the store holds (lag 0 twice, 1 s apart). */
async function waitForwarded(sink: SinkProcess, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  for (;;) {
    const m = await getText(`${sink.opsUrl}/metrics`);
    zeros = outputMetric(m, 'audit_sink_forward_lag_events') === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return m;
    if (Date.now() > deadline) throw new Error(`the sink did not catch up in ${timeoutMs / 1000} s: ${m.split('\n').filter((l) => l.startsWith('audit_sink_forward')).join('\n')}\n${sink.proc.stderr().slice(-3000)}`);
    await sleep(1_000);
  }
}

/** Every document in the indices matching `pattern`: _id → _version. */
async function indexedIds(pattern: string): Promise<Map<string, number>> {
  expect((await osRequest(`${node.url}/${pattern}/_refresh`, 'POST')).status).toBe(200);
  const ids = new Map<string, number>();
  let res = await osRequest(`${node.url}/${pattern}/_search?scroll=1m`, 'POST', { size: 1000, _source: false, version: true, sort: ['_doc'] });
  for (;;) {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const hits = res.body.hits.hits as { _id: string; _version: number }[];
    if (hits.length === 0) break;
    for (const h of hits) {
      expect(ids.has(h._id), `${h._id} indexed twice`).toBe(false);
      ids.set(h._id, h._version);
    }
    res = await osRequest(`${node.url}/_search/scroll`, 'POST', { scroll: '1m', scroll_id: res.body._scroll_id });
  }
  const count = await osRequest(`${node.url}/${pattern}/_count`);
  expect(count.body.count, '_count and the scrolled hits disagree').toBe(ids.size);
  return ids;
}

/** Stops the apiserver (it flushes its webhook buffer), waits for the sink to forward all, stops the sink; the store's events by _id. */
async function finish(run: Run): Promise<{ storeIds: Set<string>; metrics: string; stderr: string }> {
  await run.cp.stop();
  const metrics = await waitForwarded(run.sink);
  await stopProcess(run.sink.proc, 30_000, 'SIGTERM');
  expect(await run.sink.proc.exited).toBe(0);
  const verify = verifySinkStore(run.sink);
  expect(verify.status, verify.stderr).toBe(0);
  const storeIds = new Set(verify.events.map((e) => `${e.auditID}-${e.stage}`));
  expect(storeIds.size, 'events stored twice').toBe(verify.events.length);
  return { storeIds, metrics, stderr: run.sink.proc.stderr() };
}

function sameIds(store: Set<string>, index: Map<string, number>, except: Set<string> = new Set()): void {
  const missing = [...store].filter((id) => !index.has(id) && !except.has(id));
  const extra = [...index.keys()].filter((id) => !store.has(id));
  expect(missing.slice(0, 10), `${missing.length} stored events are not in OpenSearch`).toEqual([]);
  expect(extra.slice(0, 10), `${extra.length} documents that the store does not have`).toEqual([]);
  // `create` never overwrites: a resent document is refused with 409, so each stays at version 1.
  expect([...index].filter(([, v]) => v !== 1).slice(0, 10)).toEqual([]);
}

describe(`sink serve → OpenSearch, kube-apiserver v${version}`, () => {
  test('every durable event is indexed exactly once, across a kill -9 and restart of the sink mid-stream', async () => {
    const index = 'e2e-once-%Y.%m.%d';
    const run = await startRun('once', index);
    try {
      await runWorkload(run.cp);
      const deadline = Date.now() + 30_000;
      while (!(outputMetric(await getText(`${run.sink.opsUrl}/metrics`), 'audit_sink_forward_events_total') > 0) && Date.now() < deadline) await sleep(200);
      const before = outputMetric(await getText(`${run.sink.opsUrl}/metrics`), 'audit_sink_forward_events_total');
      expect(before, 'nothing was forwarded before the kill').toBeGreaterThan(0);
      await stopProcess(run.sink.proc, 10_000, 'SIGKILL');
      const during = runWorkload(run.cp);
      await sleep(1_200);
      await restartSink(run, index, 2);
      await during;
      await runWorkload(run.cp);
      const { storeIds, metrics, stderr } = await finish(run);
      const ids = await indexedIds('e2e-once-*');
      console.log(
        `once: ${storeIds.size} events in the store, ${ids.size} documents; ${before} forwarded before the kill -9; ` +
          `${outputMetric(metrics, 'audit_sink_forward_duplicate_events_total')} answered 409 after the restart (the batch in flight at the kill, sent again from the cursor)`,
      );
      sameIds(storeIds, ids);
      expect(outputMetric(metrics, 'audit_sink_forward_refused_events_total')).toBe(0);
      expect(stderr).not.toContain('refused');
    } finally {
      await cleanUp(run);
    }
  }, 300_000);

  test('a mapping conflict refuses one document, counted and logged once; the rest of its batch lands', async () => {
    const index = 'e2e-conflict';
    // The engine maps requestObject.data.conflict as a number; the ConfigMap below sends a word there.
    const created = await osRequest(`${node.url}/${index}`, 'PUT', { mappings: { properties: { requestObject: { properties: { data: { properties: { conflict: { type: 'long' } } } } } } } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const run = await startRun('conflict', index);
    let badId = '';
    try {
      const c = run.cp.client;
      expect((await c.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONFLICT_NAMESPACE } })).status).toBe(201);
      const cm = (name: string, value: string) => c.request('POST', `/api/v1/namespaces/${CONFLICT_NAMESPACE}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { conflict: value } });
      const good1 = await cm('numeric-1', '42');
      const bad = await cm('not-numeric', 'not-a-number');
      const good2 = await cm('numeric-2', '7');
      expect([good1.status, bad.status, good2.status]).toEqual([201, 201, 201]);
      badId = `${bad.auditId}-ResponseComplete`;
      await runWorkload(run.cp);
      const { storeIds, metrics, stderr } = await finish(run);
      expect(storeIds.has(badId), 'the refused event is in the local store').toBe(true);
      const ids = await indexedIds(index);
      sameIds(storeIds, ids, new Set([badId]));
      expect(ids.has(badId)).toBe(false);
      expect(ids.has(`${good1.auditId}-ResponseComplete`) && ids.has(`${good2.auditId}-ResponseComplete`)).toBe(true);
      expect(outputMetric(metrics, 'audit_sink_forward_refused_events_total')).toBe(1);
      const lines = stderr.split('\n').filter((l) => l.includes('refused a document'));
      expect(lines).toHaveLength(1);
      const logged = JSON.parse(lines[0]) as Record<string, unknown>;
      expect({ id: logged.id, index: logged.index, status: logged.status, errorType: logged.errorType }).toEqual({ id: badId, index, status: 400, errorType: 'mapper_parsing_exception' });
      // The log names the event, never the value that did not fit.
      expect(lines[0]).not.toContain('not-a-number');
      console.log(`conflict: ${storeIds.size} events in the store, ${ids.size} documents, refused: ${lines[0]}`);
    } finally {
      await cleanUp(run);
    }
  }, 300_000);

  test('OpenSearch stopped for a while and started again: nothing is lost, nothing doubled', async () => {
    const index = 'e2e-outage-%Y.%m.%d';
    const run = await startRun('outage', index);
    try {
      await runWorkload(run.cp);
      await node.stop();
      const t0 = Date.now();
      await runWorkload(run.cp);
      await sleep(3_000);
      const during = await getText(`${run.sink.opsUrl}/metrics`);
      expect(outputMetric(during, 'audit_sink_forward_lag_events'), 'events waiting while the engine is down').toBeGreaterThan(0);
      await node.start();
      console.log(`outage: OpenSearch was down ${((Date.now() - t0) / 1000).toFixed(1)} s (restart included)`);
      await runWorkload(run.cp);
      const { storeIds, metrics, stderr } = await finish(run);
      const ids = await indexedIds('e2e-outage-*');
      sameIds(storeIds, ids);
      expect(outputMetric(metrics, 'audit_sink_forward_retries_total')).toBeGreaterThan(0);
      expect(stderr).toMatch(/delivery failed; retrying the same batch.*ECONNREFUSED/);
      console.log(`outage: ${storeIds.size} events in the store, ${ids.size} documents, ${outputMetric(metrics, 'audit_sink_forward_retries_total')} retries`);
    } finally {
      await cleanUp(run);
    }
  }, 400_000);

  test('OpenSearch refusing under indexing pressure (429): the sink keeps the events and delivers them once the node accepts again', async () => {
    const index = 'e2e-pressure-%Y.%m.%d';
    // Any _bulk is over a 1-byte indexing-pressure limit: the node answers 429 until it is restarted with the default.
    await node.stop();
    await node.start({ 'indexing_pressure.memory.limit': '1b' });
    try {
      const run = await startRun('pressure', index);
      try {
        await runWorkload(run.cp);
        await sleep(3_000);
        const during = await getText(`${run.sink.opsUrl}/metrics`);
        const rejected = outputMetric(during, 'audit_sink_forward_requests_total', 'code="429"');
        expect(rejected, during.split('\n').filter((l) => l.startsWith('audit_sink_forward_requests')).join('\n')).toBeGreaterThan(0);
        expect(run.sink.proc.stderr()).toContain('answered HTTP 429');
        expect((await osRequest(`${node.url}/e2e-pressure-*/_count`)).body.count ?? 0).toBe(0);
        await node.stop();
        await node.start();
        await runWorkload(run.cp);
        const { storeIds, metrics } = await finish(run);
        const ids = await indexedIds('e2e-pressure-*');
        sameIds(storeIds, ids);
        console.log(`pressure: ${rejected} _bulk requests answered 429 while the limit held; then ${storeIds.size} events in the store, ${ids.size} documents; ${outputMetric(metrics, 'audit_sink_forward_retries_total')} retries`);
      } finally {
        await cleanUp(run);
      }
    } finally {
      if (!node.isRunning()) await node.start();
    }
  }, 400_000);

  test('HTTPS and basic auth from files (through a TLS proxy the test makes): a wrong CA and a wrong password are reported, then everything lands', async () => {
    const proxyCa = await createCertificateAuthority({ commonName: 'opensearch-proxy-ca' });
    const otherCa = await createCertificateAuthority({ commonName: 'unrelated-ca' });
    const serving = await issueServingCertificate(proxyCa, { ipAddresses: ['127.0.0.1'] });
    const password = 'correct-horse-battery';
    const proxy = await startProxy(serving.certPem, serving.keyPem, `e2e-writer:${password}`);
    const proxyUrl = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const index = 'e2e-tls-%Y.%m.%d';
    const credsDir = makeTempDir('opensearch-creds');
    const caFile = join(credsDir, 'ca.crt');
    const otherCaFile = join(credsDir, 'other-ca.crt');
    const authFile = join(credsDir, 'password');
    writeFileSync(caFile, proxyCa.certPem);
    writeFileSync(otherCaFile, otherCa.certPem);
    writeFileSync(authFile, 'wrong-password\n', { mode: 0o600 });
    const auth = ['--forward-elasticsearch-user', 'e2e-writer', '--forward-elasticsearch-basic-auth-file', authFile];
    const run = await startRun('tls', index, ['--forward-elasticsearch-ca', otherCaFile, ...auth], proxyUrl);
    try {
      await runWorkload(run.cp);
      await sleep(2_000);
      const tlsErr = run.sink.proc.stderr();
      expect(tlsErr).toMatch(/delivery failed; retrying the same batch.*certificate/);
      await stopProcess(run.sink.proc, 10_000, 'SIGTERM');
      await restartSink(run, index, 2, ['--forward-elasticsearch-ca', caFile, ...auth], proxyUrl);
      await runWorkload(run.cp);
      await sleep(2_000);
      expect(run.sink.proc.stderr()).toContain('answered HTTP 401 (credentials refused: check the auth file)');
      expect(run.sink.proc.stderr()).not.toContain('wrong-password');
      expect((await osRequest(`${node.url}/e2e-tls-*/_count`)).body.count ?? 0).toBe(0);
      // The file is read for every request: the right password takes effect without a restart.
      writeFileSync(authFile, `${password}\n`);
      const { storeIds, stderr } = await finish(run);
      const ids = await indexedIds('e2e-tls-*');
      sameIds(storeIds, ids);
      expect(stderr).not.toContain(password);
      console.log(`tls: ${storeIds.size} events in the store, ${ids.size} documents; proxy answered ${JSON.stringify(proxy.statuses)}`);
    } finally {
      proxy.close();
      await cleanUp(run);
      removeTempDir(credsDir);
    }
  }, 300_000);
});

/** HTTPS in front of the node: answers 401 (as OpenSearch's security plugin does) unless the basic credentials match. */
async function startProxy(certPem: string, keyPem: string, userPass: string): Promise<Server & { statuses: Record<number, number> }> {
  const statuses: Record<number, number> = {};
  const expected = `Basic ${Buffer.from(userPass).toString('base64')}`;
  const server = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => {
    const answer = (status: number) => (statuses[status] = (statuses[status] ?? 0) + 1);
    if (req.headers.authorization !== expected) {
      answer(401);
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="OpenSearch Security"', 'Content-Type': 'text/plain' });
      res.end('Unauthorized');
      req.resume();
      return;
    }
    const headers = { ...req.headers, host: `127.0.0.1:${node.port}` };
    delete headers.authorization;
    const up = httpRequest(`${node.url}${req.url}`, { method: req.method, headers }, (r) => {
      answer(r.statusCode ?? 0);
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      answer(502);
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  }) as Server & { statuses: Record<number, number> };
  server.statuses = statuses;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
