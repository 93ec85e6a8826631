/**
 * 2. Apiserver overhead: throughput and latency of a fixed request mix against a kube-apiserver with
 * auditing off, and against one with a preset's policy and BOTH backends on — the preset's own log flags
 * and webhook flags, the webhook delivering to the project's sink (`cdk8s-audit sink serve`, mTLS, fsync
 * before 200) in its own process. Bursts alternate between the two apiservers (ABBA…), so load from other
 * work on the machine falls on both alike.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getPreset, PRESET_NAMES } from '../../../src';
import { writePolicyFile } from '../../e2e/support/audit-files';
import { ControlPlane, startControlPlane } from '../../e2e/support/control-plane';
import { makeTempDir, removeTempDir } from '../../e2e/support/processes';
import type { BenchContext, Section, SectionResult } from '../support/context';
import { fmtBytes, fmtNum } from '../support/format';
import { LoadClient, LoadRequest, LoadResult } from '../support/load';
import { cpuSeconds } from '../support/proc';
import { metricValue } from '../../e2e/support/sink-process';
import { startSink } from '../support/sink-process';
import { Figure, makeFigure, median } from '../support/stats';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

const NS = 'bench-load';
const TARGET = 0.9;

/** Objects the mix reads and changes. */
async function setUp(cp: ControlPlane): Promise<void> {
  const create = async (path: string, body: unknown) => {
    const res = await cp.client.request('POST', path, body);
    if (res.status !== 201) throw new Error(`load setup: POST ${path} returned HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  };
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  for (const name of ['web-0', 'web-1', 'web-2']) {
    await create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
    });
  }
  await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { counter: '0' } });
  await create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'not-a-real-password' } });
  await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.invalid/api:1' }] } } },
  });
}

/** The fixed mix, 20 slots: 15 reads (one forbidden), 5 writes. */
function mix(cp: ControlPlane): (i: number) => LoadRequest {
  const admin = { Authorization: `Bearer ${cp.users.admin.token}`, Accept: 'application/json' };
  const alice = { Authorization: `Bearer ${cp.users.alice.token}`, Accept: 'application/json' };
  const patch = { ...admin, 'Content-Type': 'application/merge-patch+json' };
  const get = (path: string, headers = admin): LoadRequest => ({ method: 'GET', path, headers });
  return (i) => {
    const pod = `web-${i % 3}`;
    switch (i % 20) {
      case 0: case 1: case 2: case 3: case 4: case 5:
        return get(`/api/v1/namespaces/${NS}/pods/${pod}`);
      case 6: case 7: case 8:
        return get(`/api/v1/namespaces/${NS}/pods`);
      case 9: case 10:
        return get(`/api/v1/namespaces/${NS}/configmaps/app-config`);
      case 11: case 12:
        return get(`/api/v1/namespaces/${NS}/secrets/db`);
      case 13:
        return get(`/apis/apps/v1/namespaces/${NS}/deployments/api`);
      case 14:
        return get(`/api/v1/namespaces/${NS}/secrets/db`, alice); // 403: an invalid access attempt
      case 15: case 16: case 17:
        return { method: 'PATCH', path: `/api/v1/namespaces/${NS}/configmaps/app-config`, headers: patch, body: JSON.stringify({ data: { counter: String(i) } }) };
      case 18:
        return { method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/api`, headers: patch, body: JSON.stringify({ metadata: { labels: { rev: String(i) } } }) };
      default:
        return { method: 'PATCH', path: `/api/v1/namespaces/${NS}/pods/${pod}`, headers: patch, body: JSON.stringify({ metadata: { labels: { rev: String(i) } } }) };
    }
  };
}

/** The serving certificate the apiserver generated in its --cert-dir. */
function servingCa(cp: ControlPlane): string {
  const certDir = cp.args.find((a) => a.startsWith('--cert-dir='))!.slice('--cert-dir='.length);
  return readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
}

interface Target {
  readonly cp: ControlPlane;
  readonly client: LoadClient;
  readonly next: (i: number) => LoadRequest;
}

function target(cp: ControlPlane, concurrency: number): Target {
  return { cp, client: new LoadClient({ baseUrl: cp.url, caPem: servingCa(cp) }, concurrency), next: mix(cp) };
}

/** One sample of the apiserver's /metrics (0 when absent: error counters appear with the first error). */
async function apiserverMetric(cp: ControlPlane): Promise<(sample: string) => number> {
  const text = (await cp.client.request('GET', '/metrics')).text;
  return (sample) => metricValue(text, sample) || 0;
}

type Burst = LoadResult & { readonly apiserverCpuMsPerRequest: number };

interface PresetRun {
  readonly preset: string;
  readonly audited: Burst[];
  readonly off: Burst[];
  readonly auditEvents: number;
  readonly webhookErrors: number;
  readonly logErrors: number;
  readonly sinkStored: number;
  readonly logBytes: number;
}

export const overheadSection: Section = {
  id: 'overhead',
  title: 'Apiserver overhead of auditing (log + webhook to the sink)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const presets = ctx.quick ? ['pci-dss'] : [...PRESET_NAMES];
    const rounds = ctx.quick ? 3 : 21;
    const load = { requests: ctx.quick ? 300 : 1000, concurrency: 16, timeLimitMs: 60_000 };
    /** A burst, with the apiserver's CPU time per request (less sensitive to other load than req/s). */
    const burst = async (t: Target): Promise<Burst> => {
      const cpu0 = cpuSeconds(t.cp.apiserver.child.pid);
      const r = await t.client.run(t.next, load);
      return { ...r, apiserverCpuMsPerRequest: ((cpuSeconds(t.cp.apiserver.child.pid) - cpu0) * 1000) / r.sent };
    };

    const offCp = await startControlPlane({ version: ctx.kubernetesVersion });
    const runs: PresetRun[] = [];
    try {
      await setUp(offCp);
      const off = target(offCp, load.concurrency);
      await burst(off); // warm-up
      for (const preset of presets) {
        const dir = makeTempDir(`bench-overhead-${preset}`);
        const sink = await startSink(join(dir, 'sink'));
        let cp: ControlPlane | undefined;
        try {
          const composed = getPreset(preset, { kubernetesVersion: KubernetesVersion.of(ctx.kubernetesVersion) });
          const logPath = join(dir, 'audit.log');
          // The preset's own backend flags; only the node paths are moved into the temp dir.
          const flags = {
            ...composed.logFlags,
            ...composed.webhookFlags,
            'audit-policy-file': writePolicyFile(dir, composed.policy),
            'audit-log-path': logPath,
            'audit-webhook-config-file': sink.kubeconfigPath,
          };
          cp = await startControlPlane({ version: ctx.kubernetesVersion, extraArgs: Object.entries(flags).map(([k, v]) => `--${k}=${v}`) });
          await setUp(cp);
          const audited = target(cp, load.concurrency);
          await burst(audited); // warm-up
          const results = { audited: [] as Burst[], off: [] as Burst[] };
          // Many short paired bursts (about a second each) rather than a few long ones: other work on the
          // machine comes and goes within seconds, and a pair run back to back sees nearly the same load.
          for (let r = 0; r < rounds; r++) {
            const order: [keyof typeof results, Target][] = r % 2 === 0 ? [['off', off], ['audited', audited]] : [['audited', audited], ['off', off]];
            for (const [k, t] of order) results[k].push(await burst(t));
            const a = results.audited[r];
            const o = results.off[r];
            if (r % 7 === 6 || r === rounds - 1) ctx.log(`overhead ${preset} round ${r + 1}/${rounds}: audited ${a.rps.toFixed(0)} req/s p50 ${a.p50Ms.toFixed(1)} p99 ${a.p99Ms.toFixed(1)} ms; off ${o.rps.toFixed(0)} req/s p50 ${o.p50Ms.toFixed(1)} p99 ${o.p99Ms.toFixed(1)} ms`);
          }
          audited.client.close();
          const m = await apiserverMetric(cp);
          await cp.stop(); // flushes the webhook buffer
          cp = undefined;
          // The preset waits up to 5 s per webhook batch; give the last ones time to be stored.
          const before = Date.now();
          let stored = await sink.metric('audit_sink_events_total');
          while (Date.now() - before < 15_000 && stored < m('apiserver_audit_event_total')) {
            await new Promise((r) => setTimeout(r, 250));
            stored = await sink.metric('audit_sink_events_total');
          }
          runs.push({
            preset,
            ...results,
            auditEvents: m('apiserver_audit_event_total'),
            webhookErrors: m('apiserver_audit_error_total{plugin="webhook"}'),
            logErrors: m('apiserver_audit_error_total{plugin="log"}'),
            sinkStored: stored,
            logBytes: statSync(logPath).size,
          });
        } finally {
          await cp?.stop();
          await sink.stop();
          removeTempDir(dir);
        }
      }
      off.client.close();
    } finally {
      await offCp.stop();
    }

    const figures: Figure[] = [];
    const rows: (string | number)[][] = [];
    for (const run of runs) {
      const pci = run.preset === 'pci-dss';
      const common = { section: 'overhead', baselineLabel: 'auditing off, same mix, alternating bursts in the same run' };
      const label = `preset ${run.preset} with log + webhook (sink serve)`;
      figures.push(
        makeFigure({
          ...common, name: `overhead.throughput.${run.preset}`, unit: 'req/s', valueLabel: `${label}: throughput`,
          values: run.audited.map((r) => r.rps), baselines: run.off.map((r) => r.rps),
          target: pci ? { on: 'ratio', op: '>=', limit: TARGET } : undefined,
        }),
        makeFigure({ ...common, name: `overhead.p50.${run.preset}`, unit: 'ms', valueLabel: `${label}: p50 latency`, values: run.audited.map((r) => r.p50Ms), baselines: run.off.map((r) => r.p50Ms) }),
        makeFigure({ ...common, name: `overhead.p99.${run.preset}`, unit: 'ms', valueLabel: `${label}: p99 latency`, values: run.audited.map((r) => r.p99Ms), baselines: run.off.map((r) => r.p99Ms) }),
        makeFigure({
          ...common, name: `overhead.apiserver-cpu.${run.preset}`, unit: 'ms/request', valueLabel: `${label}: kube-apiserver CPU time per request`,
          values: run.audited.map((r) => r.apiserverCpuMsPerRequest), baselines: run.off.map((r) => r.apiserverCpuMsPerRequest),
        }),
      );
      const statuses = (rs: Burst[]) => Object.entries(rs.reduce<Record<string, number>>((acc, r) => { for (const [k, v] of Object.entries(r.statuses)) acc[k] = (acc[k] ?? 0) + v; return acc; }, {})).map(([k, v]) => `${k}×${v}`).join(' ');
      rows.push([
        run.preset,
        fmtNum(median(run.audited.map((r) => r.rps))),
        fmtNum(median(run.off.map((r) => r.rps))),
        median(run.audited.map((r, i) => r.rps / run.off[i].rps)).toFixed(3),
        `${fmtNum(median(run.audited.map((r) => r.p50Ms)))} / ${fmtNum(median(run.audited.map((r) => r.p99Ms)))}`,
        `${fmtNum(median(run.off.map((r) => r.p50Ms)))} / ${fmtNum(median(run.off.map((r) => r.p99Ms)))}`,
        `${fmtNum(median(run.audited.map((r) => r.apiserverCpuMsPerRequest)))} / ${fmtNum(median(run.off.map((r) => r.apiserverCpuMsPerRequest)))}`,
        run.auditEvents,
        run.sinkStored,
        `${run.webhookErrors} / ${run.logErrors}`,
        fmtBytes(run.logBytes),
        statuses(run.audited),
      ]);
    }
    return {
      figures,
      tables: [
        {
          title: 'Throughput and latency per preset (medians of rounds)',
          columns: ['preset', 'req/s audited', 'req/s off', 'ratio (median of pairs)', 'p50 / p99 ms audited', 'p50 / p99 ms off', 'apiserver CPU ms/request audited / off', 'audit events (apiserver)', 'stored by the sink', 'webhook / log errors', 'log file', 'HTTP statuses (audited)'],
          rows,
        },
      ],
      notes: [
        `Load: ${load.requests} requests per burst, ${load.concurrency} in flight, at most ${load.timeLimitMs / 1000} s, over HTTPS keep-alive on 127.0.0.1; mix of 20: 6 get pod, 3 list pods, 2 get configmap, 2 get secret, 1 get deployment, 1 forbidden get secret (403), 3 patch configmap, 1 patch deployment, 1 patch pod. One warm-up burst per apiserver, then ${rounds} rounds of alternating bursts.`,
        'Webhook receiver: the project\'s sink — the built `cdk8s-audit sink serve` in its own process, mTLS with --client-name, fsync before 200 — not the e2e test receiver.',
        'Each audited apiserver runs the preset\'s own log flags (blocking log mode, rotation, compression) and webhook flags (batch mode, 5 s max wait) with the paths moved to a temp dir. The audit-off apiserver is one process for the whole section; each preset gets a fresh apiserver + etcd + sink.',
        'The load generator, both apiservers, etcd and the sink share the same 2 cores, so the client\'s own CPU use is in both the value and the baseline.',
        'Every preset does the same work here (one ResponseComplete event per request at Metadata, about 16 MiB of log per preset), so the spread of their ratios shows the noise floor of this machine during the run.',
      ],
      details: runs.map((r) => ({ ...r, audited: r.audited.map(({ latenciesMs, ...x }) => x), off: r.off.map(({ latenciesMs, ...x }) => x) })),
    };
  },
};
