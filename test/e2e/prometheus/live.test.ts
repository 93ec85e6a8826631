/**
 * A real Prometheus (3.16, scripts/build-prometheus.sh) scrapes a real kube-apiserver and the real
 * `cdk8s-audit sink serve` (the built CLI, mutual TLS for the webhook), loads the rules
 * `cdk8s-audit alerts` renders for them, and:
 *   - during normal traffic no alert fires;
 *   - with the sink stopped while requests go on, AuditWebhookDeliveryFailed is read firing from
 *     Prometheus' /api/v1/alerts (the apiserver drops batches after 5 failed POSTs).
 * The other drop kinds are covered with promtool (test/e2e/promtool.test.ts) and against the real
 * /metrics (test/e2e/alerts-metrics.test.ts), not yet live.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'cdk8s';
import { stringify } from 'yaml';
import { expect, test } from 'vitest';
import { auditAlertGroups, renderPrometheusRuleFile } from '../../../src/alerts/rules';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { createWebhookTlsBundle } from '../../../src/tls/certs';
import { kubernetesVersions } from '../support/binaries';
import { ControlPlane, startControlPlane } from '../support/control-plane';
import { freePort, makeTempDir, removeTempDir, startProcess, stopProcess, RunningProcess } from '../support/processes';
import { SINK_CLIENT_NAME, startSinkProcess, writeSinkFiles, writeSinkWebhookKubeconfig } from '../support/sink-process';
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

test('a real Prometheus: no alert during normal traffic; AuditWebhookDeliveryFailed fires when the sink is gone', async () => {
  const { prometheus } = prometheusBinaries();
  const version = kubernetesVersions()[0];
  const dir = makeTempDir('prometheus-live');
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
  writeSinkFiles(dir, tls);
  const port = await freePort();
  const sink = await startSinkProcess(dir, port);
  let cp: ControlPlane | undefined;
  let prom: RunningProcess | undefined;
  try {
    // Every request of alice is recorded at Metadata: the traffic below is what the sink receives.
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{ level: Metadata, users: [alice] }, { level: None }]\n');
    const configFile = writeSinkWebhookKubeconfig(join(dir, 'webhook.kubeconfig'), tls, port);
    const webhook = { configFile, initialBackoff: Duration.millis(100), batch: { maxWait: Duration.seconds(1) } };
    const args = new ApiserverAudit({ kubernetesVersion: KubernetesVersion.of(version), policyFile, webhook }).commandLine();
    cp = await startControlPlane({ version, extraArgs: args });

    // The rules as a user renders them for this sink, with the default selectors job="apiserver" and job="audit-sink".
    const promDir = join(dir, 'prometheus');
    mkdirSync(join(promDir, 'data'), { recursive: true });
    writeFileSync(join(promDir, 'audit-alerts.rules.yaml'), renderPrometheusRuleFile({ webhookHost: `127.0.0.1:${port}` }));
    const apiserver = new URL(cp.url);
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
            static_configs: [{ targets: [apiserver.host] }],
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

    // Every rule is loaded and evaluates without error (so "nothing fires" below is not an empty rule set).
    const rules = (await (await fetch(`${url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(auditAlertGroups({ webhookHost: `127.0.0.1:${port}` }).flatMap((g) => g.rules.map((r) => r.alert)).sort());

    // Normal traffic for 20 s (20 scrapes and evaluations): nothing fires, and every rule evaluated cleanly.

    const quietUntil = Date.now() + 20_000;
    while (Date.now() < quietUntil) await traffic(cp, 20);
    const quiet = await alerts(url);
    expect(quiet.filter((a) => a.state === 'firing')).toEqual([]);
    const evaluated = (await (await fetch(`${url}/api/v1/rules`)).json()) as typeof rules;
    expect(evaluated.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok')).toEqual([]);

    // The sink is gone while requests go on: the apiserver drops batches after 5 failed POSTs.
    await stopProcess(sink.proc, 30_000, 'SIGTERM');
    let seen: Alert[] = [];
    await waitUntil(
      'AuditWebhookDeliveryFailed to fire in Prometheus',
      async () => {
        await traffic(cp!, 10);
        seen = await alerts(url);
        return seen.some((a) => a.labels.alertname === 'AuditWebhookDeliveryFailed' && a.state === 'firing');
      },
      120_000,
      () => JSON.stringify(seen.map((a) => `${a.labels.alertname}:${a.state}`)),
    );
    const fired = seen.find((a) => a.labels.alertname === 'AuditWebhookDeliveryFailed')!;
    expect(fired.labels).toMatchObject({ severity: 'critical', instance: apiserver.host });
  } finally {
    if (prom?.isRunning()) await stopProcess(prom, 30_000, 'SIGTERM');
    await cp?.stop();
    if (sink.proc.isRunning()) await stopProcess(sink.proc, 30_000, 'SIGTERM');
    removeTempDir(dir);
  }
});
