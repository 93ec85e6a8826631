/**
 * The webhook backend on a real kube-apiserver, next to the log backend: mutual TLS with certificates
 * from src/tls, a kubeconfig from src/backends/kubeconfig, batches, truncation, and no secret leaks.
 */
import { Size } from 'cdk8s';
import { request as httpsRequest } from 'node:https';
import { describe, expect, test } from 'vitest';
import type { PolicyDocument } from '../../src/policy/model';
import { createCertificateAuthority, issueClientCertificate } from '../../src/tls/certs';
import { attributesFromEvents, AuditEvent, brief, droppedEventsFromStderr, groupByAuditId, isLongRunning, readJsonAuditLog } from './support/audit-events';
import { auditSetup } from './support/audit-files';
import type { WebhookBackendProps } from '../../src/backends/backends';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { makeTempDir, readFileSafe, removeTempDir, sleep } from './support/processes';
import { APISERVER_CLIENT_USER, setUpWebhook, WebhookSetup } from './support/webhook-setup';
import { runWorkload, WorkloadResult } from './support/workload';
import { POLICY_SECRETS_METADATA } from './policies';

const key = (e: AuditEvent) => `${e.auditID} ${e.stage}`;

interface BothBackends {
  readonly logText: string;
  readonly logEvents: AuditEvent[];
  readonly webhook: WebhookSetup;
  readonly workload: WorkloadResult;
  /** Batches that had arrived before the apiserver was asked to stop (not just the shutdown flush). */
  readonly batchesBeforeStop: number;
  readonly apiserverStderr: string;
}

/** Runs the workload with the log and webhook backends on at once, then stops (flushing both). */
async function runBothBackends(
  version: string,
  policy: PolicyDocument,
  webhookProps: Omit<WebhookBackendProps, 'kubernetesVersion' | 'configFile'> = {},
  workloadOptions = {},
): Promise<BothBackends> {
  const dir = makeTempDir('webhook');
  const webhook = await setUpWebhook(dir, { props: webhookProps });
  try {
    const setup = auditSetup(version, dir, { policy, log: {}, webhook: webhook.props });
    const logPath = setup.logPath!;
    const cp: ControlPlane = await startControlPlane({ version, extraArgs: setup.args });
    let workload: WorkloadResult;
    let batchesBeforeStop: number;
    let apiserverStderr = '';
    try {
      workload = await runWorkload(cp, workloadOptions);
      // With --audit-webhook-batch-max-wait=1s batches flow while the apiserver runs.
      await webhook.receiver.waitFor('a first EventList batch', () => webhook.receiver.batches.length > 0, 15_000);
      batchesBeforeStop = webhook.receiver.batches.length;
    } finally {
      await cp.stop();
      apiserverStderr = cp.apiserver.stderr();
    }
    const logText = readFileSafe(logPath);
    return { logText, logEvents: readJsonAuditLog(logPath), webhook, workload, batchesBeforeStop, apiserverStderr };
  } finally {
    await webhook.receiver.close();
    removeTempDir(dir);
  }
}

/** Tries a TLS request to the receiver; resolves with the HTTP status or the connection error. */
function tryConnect(url: string, caPem: string, client?: { certPem: string; keyPem: string }): Promise<string> {
  return new Promise((resolveResult) => {
    const req = httpsRequest(url, { method: 'POST', ca: caPem, cert: client?.certPem, key: client?.keyPem, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolveResult(`HTTP ${res.statusCode}`));
    });
    req.on('error', (error) => resolveResult(`error: ${error.message}`));
    req.end(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [] }));
  });
}

describe.each(kubernetesVersions())('webhook backend, kube-apiserver v%s', (version) => {
  test('log and webhook side by side: batches arrive over mTLS with the same events; the secret canary never appears', async () => {
    const run = await runBothBackends(version, POLICY_SECRETS_METADATA);
    const { receiver } = run.webhook;
    expect(run.batchesBeforeStop, 'no batch arrived while the apiserver was running').toBeGreaterThan(0);
    expect(receiver.batches.length).toBeGreaterThan(1);
    expect(receiver.badRequests).toEqual([]);
    expect(receiver.refusedHandshakes).toEqual([]);
    expect(new Set(receiver.batches.map((b) => b.clientCommonName))).toEqual(new Set([APISERVER_CLIENT_USER]));

    // Exactly the same (auditID, stage) pairs, at the same levels, on both backends.
    const logKeys = new Map(run.logEvents.map((e) => [key(e), e]));
    const groups = groupByAuditId(run.logEvents);
    const hookEvents = receiver.events();
    const hookKeys = new Map(hookEvents.map((e) => [key(e), e]));
    expect(hookEvents.length, 'the webhook received duplicate events').toBe(hookKeys.size);
    const onlyInLog = [...logKeys.keys()].filter((k) => !hookKeys.has(k));
    const onlyInWebhook = [...hookKeys.keys()].filter((k) => !logKeys.has(k));
    // The one known gap: requests still running when the apiserver shuts down (its own watches, a
    // controller's last update) finish after the batching webhook backend has closed its buffer, while the
    // blocking log backend still writes them. The apiserver reports each such event itself
    // (HandlePluginError "audit backend shut down"): every event missing from the webhook must be one of those.
    const droppedAtShutdown = new Set(
      droppedEventsFromStderr(run.apiserverStderr)
        .filter((d) => d.plugin === 'buffered' && d.reason === 'audit backend shut down')
        .map((d) => `${d.auditID} ${d.stage}`),
    );
    const unexplained = onlyInLog.filter((k) => !droppedAtShutdown.has(k));
    const lateWatches = onlyInLog.filter((k) => {
      const e = logKeys.get(k)!;
      return droppedAtShutdown.has(k) && isLongRunning(attributesFromEvents(groups.get(e.auditID)!));
    });
    console.log(
      `v${version}: ${logKeys.size} events in the log, ${hookKeys.size} via webhook in ${receiver.batches.length} batches; ` +
        `${onlyInLog.length - unexplained.length} dropped by the webhook backend at shutdown and reported by the apiserver (${lateWatches.length} of them long-running)`,
    );
    expect(unexplained.map((k) => brief(logKeys.get(k)!)).slice(0, 10), `${unexplained.length} events reached the log but not the webhook, and the apiserver did not report them dropped at shutdown`).toEqual([]);
    expect(onlyInWebhook.map((k) => brief(hookKeys.get(k)!)).slice(0, 10), `${onlyInWebhook.length} events reached the webhook but not the log`).toEqual([]);
    const levelDiffs = [...logKeys].filter(([k, e]) => hookKeys.has(k) && hookKeys.get(k)!.level !== e.level).map(([, e]) => brief(e));
    expect(levelDiffs).toEqual([]);
    // Every workload step that the policy audits is there (the secret's own requests included, at Metadata).
    const secretEvents = hookEvents.filter((e) => e.objectRef?.resource === 'secrets' && e.objectRef.namespace === run.workload.namespace);
    expect(secretEvents.length).toBeGreaterThan(0);
    expect(new Set(secretEvents.map((e) => e.level))).toEqual(new Set(['Metadata']));

    // The canary: never in the log file nor in any webhook body, plain or base64 (Secret data is base64).
    const canary = run.workload.secretCanary;
    const forms = [canary, Buffer.from(canary).toString('base64')];
    const webhookText = receiver.batches.map((b) => b.body).join('\n');
    for (const form of forms) {
      expect(run.logText.includes(form), `secret value found in the audit log (${form === canary ? 'plain' : 'base64'})`).toBe(false);
      expect(webhookText.includes(form), `secret value found in a webhook batch (${form === canary ? 'plain' : 'base64'})`).toBe(false);
    }
    // Positive control: the ConfigMap's value (RequestResponse) IS found by the same search.
    expect(run.logText.includes(run.workload.configMapCanary), 'control: the ConfigMap value should be in the log').toBe(true);
    expect(webhookText.includes(run.workload.configMapCanary), 'control: the ConfigMap value should be in a webhook batch').toBe(true);
  });

  test('the receiver refuses TLS clients without a certificate from its CA, and so the apiserver with a wrong one', async () => {
    const dir = makeTempDir('webhook-wrong-ca');
    const webhook = await setUpWebhook(dir, { clientCertFromOtherCa: true });
    try {
      const { receiver, tls } = webhook;
      // Direct probes first: no client certificate, a certificate from another CA, then the right one.
      const otherCa = await createCertificateAuthority({ commonName: 'other-ca' });
      const stranger = await issueClientCertificate(otherCa, { user: APISERVER_CLIENT_USER });
      expect(await tryConnect(receiver.url, tls.ca.certPem)).toMatch(/^error: /);
      expect(await tryConnect(receiver.url, tls.ca.certPem, stranger)).toMatch(/^error: /);
      expect(await tryConnect(receiver.url, tls.ca.certPem, tls.apiserverClient)).toBe('HTTP 200');
      const refusedBefore = receiver.refusedHandshakes.length;
      const batchesBefore = receiver.batches.length;
      expect(refusedBefore).toBeGreaterThanOrEqual(1);

      // Now the apiserver with a kubeconfig whose client certificate comes from another CA.
      const policy: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] };
      const cp = await startControlPlane({ version, extraArgs: auditSetup(version, dir, { policy, webhook: webhook.props }).args });
      let stderr = '';
      try {
        await cp.client.request('GET', '/api/v1/namespaces');
        const deadline = Date.now() + 30_000;
        while (!/audit plugin 'webhook'/.test(cp.apiserver.stderr()) && Date.now() < deadline) await sleep(200);
        stderr = cp.apiserver.stderr();
      } finally {
        await cp.stop();
      }
      expect(receiver.batches.length - batchesBefore, 'the receiver accepted a batch from a client certificate of the wrong CA').toBe(0);
      expect(receiver.refusedHandshakes.length).toBeGreaterThan(refusedBefore);
      const pluginErrors = stderr.split('\n').filter((l) => l.includes("audit plugin 'webhook'"));
      expect(pluginErrors.length, 'the apiserver should report the failed webhook deliveries in its log').toBeGreaterThan(0);
    } finally {
      await webhook.receiver.close();
      removeTempDir(dir);
    }
  });

  test('--audit-webhook-truncate-enabled: events over max-event-size arrive without bodies and annotated, exactly as predicted', async () => {
    const maxEventSize = 16 * 1024;
    const policy: PolicyDocument = {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      rules: [{ level: 'None', nonResourceURLs: ['/healthz*', '/readyz*', '/livez*'] }, { level: 'RequestResponse' }],
    };
    const run = await runBothBackends(
      version,
      policy,
      { truncate: { enabled: true, maxEventSize: Size.kibibytes(maxEventSize / 1024) } },
      { extraWrites: 3, padBytes: 40 * 1024 },
    );
    // The log backend (not truncated) sees the same event objects; its JSON line is the size the truncate
    // plugin measures (same encoder, trailing newline included). plugin/pkg/audit/truncate/truncate.go:
    // over the limit at Request+ → bodies dropped + annotation; still over, or at Metadata → dropped.
    const lines = run.logText.split('\n').filter(Boolean);
    const hook = new Map(run.webhook.receiver.events().map((e) => [key(e), e]));
    const dropped = droppedEventsFromStderr(run.apiserverStderr);
    const droppedAtShutdown = new Set(dropped.filter((d) => d.reason === 'audit backend shut down').map((d) => `${d.auditID} ${d.stage}`));
    const droppedTooLarge = new Set(dropped.filter((d) => d.plugin === 'truncate').map((d) => `${d.auditID} ${d.stage}`));
    const problems: string[] = [];
    let truncated = 0;
    let intact = 0;
    for (const line of lines) {
      const event = JSON.parse(line) as AuditEvent;
      const size = Buffer.byteLength(line) + 1;
      const got = hook.get(key(event));
      const bodied = event.requestObject !== undefined || event.responseObject !== undefined;
      if (droppedAtShutdown.has(key(event)) && !got) continue; // see the side-by-side test
      if (size <= maxEventSize) {
        if (!got) problems.push(`${brief(event)} (${size} B) missing from the webhook`);
        else if (got.annotations?.['audit.k8s.io/truncated']) problems.push(`${brief(event)} (${size} B ≤ ${maxEventSize}) arrived truncated`);
        else intact++;
        continue;
      }
      const { requestObject: _req, responseObject: _res, ...rest } = event;
      const truncatedSize = Buffer.byteLength(JSON.stringify({ ...rest, annotations: { ...(event.annotations ?? {}), 'audit.k8s.io/truncated': 'true' } })) + 1;
      const expectDropped = event.level === 'Metadata' || !bodied || truncatedSize > maxEventSize + 64;
      if (expectDropped) {
        if (got) problems.push(`${brief(event)} (${size} B) should have been dropped as too large even after truncation`);
        else if (!droppedTooLarge.has(key(event))) problems.push(`${brief(event)} (${size} B) was dropped without the apiserver reporting it`);
        continue;
      }
      if (!got) problems.push(`${brief(event)} (${size} B) should have arrived truncated, but did not arrive`);
      else if (got.annotations?.['audit.k8s.io/truncated'] !== 'true') problems.push(`${brief(event)} (${size} B) arrived without the audit.k8s.io/truncated annotation`);
      else if (got.requestObject !== undefined || got.responseObject !== undefined) problems.push(`${brief(event)} arrived truncated but still has a body`);
      else if (got.level !== event.level) problems.push(`${brief(event)} changed level when truncated`);
      else truncated++;
    }
    console.log(`v${version}: truncation at ${maxEventSize} B: ${truncated} events truncated, ${intact} intact, ${droppedTooLarge.size} dropped as too large, ${droppedAtShutdown.size} lost at shutdown`);
    expect(problems.slice(0, 10), `${problems.length} events not truncated as predicted`).toEqual([]);
    expect(truncated, 'no event was large enough to be truncated: the test proves nothing').toBeGreaterThanOrEqual(3);
    expect(intact).toBeGreaterThan(100);
  });
});
