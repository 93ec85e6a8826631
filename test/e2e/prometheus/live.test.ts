/**
 * A real Prometheus (3.16, scripts/build-prometheus.sh) scrapes a real kube-apiserver and the real
 * `cdk8s-audit sink serve` (the built CLI, mutual TLS for the webhook), loads the rules
 * `cdk8s-audit alerts` renders for them, and:
 *   - during normal traffic no alert fires;
 *   - with the sink stopped while requests go on, AuditWebhookDeliveryFailed is read firing from
 *     Prometheus' /api/v1/alerts (the apiserver drops batches after 5 failed POSTs);
 *   - with a small webhook buffer, truncation at 2 KiB and the audit log on /dev/full,
 *     AuditEventsDroppedBufferFull, AuditEventsTooLargeDropped and AuditLogWriteFailed fire.
 *   - with a sink whose body limit is below a batch, AuditSinkRejectsBatches fires (and, as the apiserver
 *     gives up on those batches, AuditWebhookDeliveryFailed).
 * Not made to happen live: the sink down (AuditSinkDown has for: 5m).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Size } from 'cdk8s';
import { stringify } from 'yaml';
import { expect, test } from 'vitest';
import { auditAlertGroups, renderPrometheusRuleFile } from '../../../src/alerts/rules';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { createWebhookTlsBundle } from '../../../src/tls/certs';
import { kubernetesVersions } from '../support/binaries';
import { ControlPlane, startControlPlane } from '../support/control-plane';
import { freePort, makeTempDir, removeTempDir, startProcess, stopProcess, RunningProcess } from '../support/processes';
import { SINK_CLIENT_NAME, SinkProcess, startSinkProcess, writeSinkFiles, writeSinkWebhookKubeconfig } from '../support/sink-process';
import { waitUntil } from '../support/slow-sink';
import { prometheusBinaries } from './promtool';

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function alerts(url: string): Promise<Alert[]> {
  const res = await fetch(`${url}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

async function targetsUp(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/api/v1/targets`);
  const body = (await res.json()) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } };
  return Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
}

async function traffic(cp: ControlPlane, count: number): Promise<void> {
  const caller = cp.callerFor(cp.users.alice);
  for (let i = 0; i < count; i++) await cp.client.request('GET', '/version', undefined, { caller });
}

interface Stack {
  readonly cp: ControlPlane;
  readonly sink: SinkProcess;
  /** Prometheus' web address. */
  readonly url: string;
  /** host:port of the apiserver: the `instance` label of its series. */
  readonly apiserverHost: string;
  readonly sinkPort: number;
}

/**
 * Sink, apiserver (its webhook posting to the sink, plus `webhook` props and `extraArgs`) and Prometheus
 * scraping both every second with the rules `cdk8s-audit alerts` renders for this sink (default selectors
 * job="apiserver" and job="audit-sink"); `body` runs once both targets are up, then everything stops.
 */
async function withStack(options: { webhook?: Record<string, unknown>; extraArgs?: string[]; sinkArgs?: string[] }, body: (s: Stack) => Promise<void>): Promise<void> {
  const { prometheus } = prometheusBinaries();
  const version = kubernetesVersions()[0];
  const dir = makeTempDir('prometheus-live');
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
  writeSinkFiles(dir, tls);
  const port = await freePort();
  const sink = await startSinkProcess(dir, port, options.sinkArgs ?? []);
  let cp: ControlPlane | undefined;
  let prom: RunningProcess | undefined;
  try {
    // Every request of alice is recorded at Metadata: the traffic is what the sink receives.
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{ level: Metadata, users: [alice] }, { level: None }]\n');
    const configFile = writeSinkWebhookKubeconfig(join(dir, 'webhook.kubeconfig'), tls, port);
    const webhook = { configFile, initialBackoff: Duration.millis(100), batch: { maxWait: Duration.seconds(1) }, ...(options.webhook ?? {}) };
    const args = new ApiserverAudit({ kubernetesVersion: KubernetesVersion.of(version), policyFile, webhook }).commandLine();
    cp = await startControlPlane({ version, extraArgs: [...args, ...(options.extraArgs ?? [])] });

    const promDir = join(dir, 'prometheus');
    mkdirSync(join(promDir, 'data'), { recursive: true });
    writeFileSync(join(promDir, 'audit-alerts.rules.yaml'), renderPrometheusRuleFile({ webhookHost: `127.0.0.1:${port}` }));
    const apiserverHost = new URL(cp.url).host;
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['audit-alerts.rules.yaml'],
        scrape_configs: [
          {
            job_name: 'apiserver',
            scheme: 'https',
            // The test apiserver's serving certificate is self-signed for 127.0.0.1; the bearer token is the admin's.
            tls_config: { insecure_skip_verify: true },
            authorization: { credentials: cp.users.admin.token },
            static_configs: [{ targets: [apiserverHost] }],
          },
          { job_name: 'audit-sink', static_configs: [{ targets: [new URL(sink.opsUrl).host] }] },
        ],
      }),
    );
    const webPort = await freePort();
    const url = `http://127.0.0.1:${webPort}`;
    prom = startProcess('prometheus', prometheus, [
      `--config.file=${join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ], promDir);
    await waitUntil('Prometheus to scrape the apiserver and the sink', async () => {
      try {
        const up = await targetsUp(url);
        return up.apiserver === 'up' && up['audit-sink'] === 'up';
      } catch {
        return false;
      }
    }, 60_000, () => prom!.stderr().slice(-2000));
    await body({ cp, sink, url, apiserverHost, sinkPort: port });
  } finally {
    if (prom?.isRunning()) await stopProcess(prom, 30_000, 'SIGTERM');
    await cp?.stop();
    if (sink.proc.isRunning()) await stopProcess(sink.proc, 30_000, 'SIGTERM');
    removeTempDir(dir);
  }
}

/** Runs `act` until every alert in `names` is firing; the alerts seen last. */
async function untilFiring(url: string, names: readonly string[], act: () => Promise<void>): Promise<Alert[]> {
  let seen: Alert[] = [];
  await waitUntil(
    `${names.join(', ')} to fire in Prometheus`,
    async () => {
      await act();
      seen = await alerts(url);
      return names.every((n) => seen.some((a) => a.labels.alertname === n && a.state === 'firing'));
    },
    120_000,
    () => JSON.stringify(seen.map((a) => `${a.labels.alertname}:${a.state}`)),
  );
  return seen;
}

test('a real Prometheus: no alert during normal traffic; AuditWebhookDeliveryFailed fires when the sink is gone', async () => {
  await withStack({}, async ({ cp, sink, url, apiserverHost, sinkPort }) => {
    // Every rule is loaded and evaluates without error (so "nothing fires" below is not an empty rule set).
    const rules = (await (await fetch(`${url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(auditAlertGroups({ webhookHost: `127.0.0.1:${sinkPort}` }).flatMap((g) => g.rules.map((r) => r.alert)).sort());

    // Normal traffic for 20 s (20 scrapes and evaluations): nothing fires, and every rule evaluated cleanly.
    const quietUntil = Date.now() + 20_000;
    while (Date.now() < quietUntil) await traffic(cp, 20);
    expect((await alerts(url)).filter((a) => a.state === 'firing')).toEqual([]);
    const evaluated = (await (await fetch(`${url}/api/v1/rules`)).json()) as typeof rules;
    expect(evaluated.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok')).toEqual([]);

    // The sink is gone while requests go on: the apiserver drops batches after 5 failed POSTs.
    await stopProcess(sink.proc, 30_000, 'SIGTERM');
    const seen = await untilFiring(url, ['AuditWebhookDeliveryFailed'], () => traffic(cp, 10));
    expect(seen.find((a) => a.labels.alertname === 'AuditWebhookDeliveryFailed')!.labels).toMatchObject({ severity: 'critical', instance: apiserverHost });
  });
});

test('a real Prometheus: buffer full, event too large and log write failure each fire their alert', async () => {
  // A 50-event buffer drained at 10 events/s, events over 2 KiB dropped, the audit log on /dev/full
  // (every write fails with ENOSPC), as test/e2e/alerts-metrics.test.ts makes them happen.
  const webhook = {
    batch: { bufferSize: 50, maxSize: 10, maxWait: Duration.seconds(1), throttle: { qps: 1, burst: 1 } },
    truncate: { enabled: true, maxEventSize: Size.kibibytes(2), maxBatchSize: Size.mebibytes(1) },
  };
  await withStack({ webhook, extraArgs: ['--audit-log-path=/dev/full'] }, async ({ cp, url, apiserverHost }) => {
    const names = ['AuditEventsDroppedBufferFull', 'AuditEventsTooLargeDropped', 'AuditLogWriteFailed'];
    const caller = cp.callerFor(cp.users.alice);
    const seen = await untilFiring(url, names, async () => {
      await cp.client.request('GET', `/version?pad=${'x'.repeat(4096)}`, undefined, { caller });
      await Promise.all(Array.from({ length: 8 }, () => traffic(cp, 40)));
    });
    for (const n of names) expect(seen.find((a) => a.labels.alertname === n && a.state === 'firing')!.labels.instance).toBe(apiserverHost);
    // The sink received what was not dropped: it is up and did not alert.
    expect(seen.filter((a) => a.labels.alertname.startsWith('AuditSink') && a.state === 'firing')).toEqual([]);
  });
});

test('a real Prometheus: a sink that refuses the batches (body over --max-body-bytes) fires AuditSinkRejectsBatches', async () => {
  await withStack({ sinkArgs: ['--max-body-bytes', '1024'] }, async ({ cp, url }) => {
    const seen = await untilFiring(url, ['AuditSinkRejectsBatches', 'AuditWebhookDeliveryFailed'], () => traffic(cp, 20));
    expect(seen.find((a) => a.labels.alertname === 'AuditSinkRejectsBatches' && a.state === 'firing')!.labels).toMatchObject({ reason: 'too_large', severity: 'critical' });
  });
});
