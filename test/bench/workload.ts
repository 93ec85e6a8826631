/**
 * What the volume section sends to each apiserver: the preset requirement probes (for the coverage
 * columns), the e2e suite's scripted workload (test/e2e/support/workload.ts) and a stretch of
 * cluster-shaped background traffic — node lease renewals, leader election, pod status updates, events,
 * controller reads — because in a real cluster that traffic, not people, makes most of the audit volume.
 * Every request's Audit-Id is kept, so each byte of the log can be attributed to the part that caused it.
 */
import { randomBytes } from 'node:crypto';
import { evaluatePolicy, getPreset, PolicyDocument, PRESET_NAMES, RequirementProbe } from '../../src';
import { probeAttributes, ProbeCaller } from '../../src/presets';
import { levelRank } from '../../src/policy';
import type { ControlPlane } from '../e2e/support/control-plane';
import type { Caller } from '../e2e/support/kube-client';
import { runWorkload } from '../e2e/support/workload';
import { KubernetesVersion } from '../../src/core/kubernetes-version';

/** One preset requirement's probe. */
export interface ProbeEntry {
  readonly preset: string;
  readonly requirement: string;
  readonly probe: RequirementProbe;
  /** Identifies the HTTP request; entries of several presets can share one request. */
  readonly requestKey: string;
}

const requestKey = (p: RequirementProbe) => `${p.as} ${p.method} ${p.path} ${JSON.stringify(p.body ?? null)}`;

/** Every probe of every preset's requirement table (each preset composed on its own). */
export function allProbeEntries(kubernetesVersion: string): ProbeEntry[] {
  return PRESET_NAMES.flatMap((preset) =>
    getPreset(preset, { kubernetesVersion: KubernetesVersion.of(kubernetesVersion) }).requirements.flatMap((req) =>
      req.probes.map((probe) => ({ preset, requirement: req.id, probe, requestKey: requestKey(probe) })),
    ),
  );
}

function probeCaller(cp: ControlPlane, as: ProbeCaller): Caller {
  if (as === ProbeCaller.ANONYMOUS) return { anonymous: true };
  return { token: (as === ProbeCaller.ADMIN ? cp.users.admin : cp.users.alice).token };
}

/** Sends each distinct probe request once, as test/e2e/presets.test.ts does; Audit-Id per request key. */
export async function sendProbes(cp: ControlPlane, entries: readonly ProbeEntry[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const e of entries) {
    if (ids.has(e.requestKey)) continue;
    const p = e.probe;
    const res = await cp.client.request(p.method, p.path, p.body, {
      caller: probeCaller(cp, p.as),
      contentType: p.method === 'PATCH' ? 'application/merge-patch+json' : undefined,
    });
    if (!res.auditId) throw new Error(`probe ${p.method} ${p.path}: no Audit-Id header`);
    ids.set(e.requestKey, res.auditId);
  }
  return ids;
}

export interface Coverage {
  /** Probe entries recorded at a level within [minLevel, maxLevel]. */
  readonly met: number;
  readonly total: number;
  /** Entries that missed, as "preset requirement: METHOD path got L, needs …". */
  readonly missed: string[];
}

function within(level: string, p: RequirementProbe): boolean {
  return levelRank(level) >= levelRank(p.minLevel) && (p.maxLevel === undefined || levelRank(level) <= levelRank(p.maxLevel));
}

/** Coverage of `entries` given a level per entry (predicted or observed). */
export function coverage(entries: readonly ProbeEntry[], levelOf: (e: ProbeEntry, index: number) => string): Coverage {
  const missed: string[] = [];
  for (const [i, e] of entries.entries()) {
    const level = levelOf(e, i);
    if (!within(level, e.probe)) {
      const needs = e.probe.maxLevel && e.probe.maxLevel !== e.probe.minLevel ? `${e.probe.minLevel}..${e.probe.maxLevel}` : e.probe.maxLevel ? e.probe.minLevel : `≥ ${e.probe.minLevel}`;
      missed.push(`${e.preset} ${e.requirement}: ${e.probe.method} ${e.probe.path} got ${level}, needs ${needs}`);
    }
  }
  return { met: entries.length - missed.length, total: entries.length, missed };
}

export function predictedCoverage(policy: PolicyDocument, entries: readonly ProbeEntry[]): Coverage {
  return coverage(entries, (e) => evaluatePolicy(policy, probeAttributes(e.probe)).level);
}

/** Audit-Ids per part of the workload. */
export interface WorkloadIds {
  readonly scripted: string[];
  readonly cluster: string[];
}

export interface ClusterTrafficOptions {
  /** Heartbeat intervals to simulate. */
  readonly ticks: number;
  /** Nodes renewing a lease each tick. @default 3 */
  readonly nodes?: number;
}

/**
 * Cluster-shaped traffic with service-account identities in kube-system (the kube-controller-manager
 * acts as such accounts with --use-service-account-credentials). Each tick: one lease renewal per node,
 * one leader-election renewal, one pod status update, one Event, one pod list and one ConfigMap read.
 */
export async function runClusterTraffic(cp: ControlPlane, options: ClusterTrafficOptions): Promise<string[]> {
  const ids: string[] = [];
  const nodes = options.nodes ?? 3;
  const suffix = randomBytes(3).toString('hex');
  const ns = `bench-cluster-${suffix}`;
  const admin: Caller = { token: cp.users.admin.token };
  const send = async (caller: Caller, method: string, path: string, body: unknown, ok: number[], contentType?: string) => {
    const res = await cp.client.request<any>(method, path, body, { caller, contentType });
    if (res.auditId) ids.push(res.auditId);
    if (!ok.includes(res.status)) throw new Error(`cluster traffic: ${method} ${path} returned HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    return res;
  };
  const merge = 'application/merge-patch+json';

  await send(admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, [201]);
  await send(admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, [201]);
  const tokens: Record<string, Caller> = {};
  for (const sa of [`node-agent-${suffix}`, `controller-${suffix}`]) {
    await send(admin, 'POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } }, [201]);
    await send(admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `bench-${sa}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'kube-system' }],
    }, [201]);
    const tr = await send(admin, 'POST', `/api/v1/namespaces/kube-system/serviceaccounts/${sa}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }, [201]);
    tokens[sa] = { token: tr.body.status.token };
  }
  const node = tokens[`node-agent-${suffix}`];
  const controller = tokens[`controller-${suffix}`];
  const lease = (name: string, holder: string) => ({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name },
    spec: { holderIdentity: holder, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') },
  });
  const nodeNames = Array.from({ length: nodes }, (_, i) => `bench-node-${suffix}-${i}`);
  for (const n of nodeNames) await send(node, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease(n, n), [201]);
  const leader = `bench-leader-${suffix}`;
  await send(controller, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', lease(leader, 'controller-0'), [201]);
  const config = `bench-config-${suffix}`;
  await send(admin, 'POST', '/api/v1/namespaces/kube-system/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: config }, data: { mode: 'bench' } }, [201]);
  const pods = ['web-0', 'web-1', 'web-2'];
  for (const p of pods) {
    await send(controller, 'POST', `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: p, labels: { app: 'web' } },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
    }, [201]);
  }

  for (let t = 0; t < options.ticks; t++) {
    const now = new Date().toISOString().replace('Z', '000Z');
    for (const n of nodeNames) {
      await send(node, 'PATCH', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n}`, { spec: { renewTime: now } }, [200], merge);
    }
    await send(controller, 'PATCH', `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${leader}`, { spec: { renewTime: now } }, [200], merge);
    await send(node, 'PATCH', `/api/v1/namespaces/${ns}/pods/${pods[t % pods.length]}/status`,
      { status: { conditions: [{ type: 'bench.example.com/Heartbeat', status: 'True', lastProbeTime: null, lastTransitionTime: now.replace(/\.\d+Z$/, 'Z') }] } }, [200], merge);
    await send(controller, 'POST', `/api/v1/namespaces/${ns}/events`, {
      apiVersion: 'v1', kind: 'Event', metadata: { name: `web.${suffix}${t}` },
      involvedObject: { kind: 'Pod', namespace: ns, name: pods[t % pods.length], apiVersion: 'v1' },
      reason: 'Heartbeat', message: `tick ${t}`, type: 'Normal', source: { component: 'bench-controller' },
    }, [201]);
    await send(controller, 'GET', `/api/v1/namespaces/${ns}/pods`, undefined, [200]);
    await send(node, 'GET', `/api/v1/namespaces/kube-system/configmaps/${config}`, undefined, [200]);
  }
  return ids;
}

/** The probes, then the scripted workload, then the cluster-shaped traffic. */
export async function runBenchWorkload(cp: ControlPlane, entries: readonly ProbeEntry[], ticks: number): Promise<{ probeIds: Map<string, string>; ids: WorkloadIds }> {
  const probeIds = await sendProbes(cp, entries);
  const scripted = await runWorkload(cp);
  const cluster = await runClusterTraffic(cp, { ticks });
  return { probeIds, ids: { scripted: scripted.steps.map((s) => s.auditId).filter((x): x is string => Boolean(x)), cluster } };
}
