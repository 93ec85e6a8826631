/**
 * 1. Volume: audit bytes and events of the same workload under each policy, on the real apiserver's log
 * backend, against the GKE-style policy measured in the same run; alongside, how many of the preset
 * requirement probes each policy records at the required level (predicted by evaluatePolicy and observed
 * in the apiserver's log).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluatePolicy, validatePolicy } from '../../../src';
import { probeAttributes } from '../../../src/presets';
import { logBackendArgs, writePolicyFile } from '../../e2e/support/audit-files';
import { startControlPlane } from '../../e2e/support/control-plane';
import { makeTempDir, removeTempDir } from '../../e2e/support/processes';
import { readLogVolume, volumeOf } from '../support/audit-log';
import { ARTIFACT_PCI_LOG, BenchContext, Section, SectionResult } from '../support/context';
import { fmtBytes } from '../support/format';
import { Figure, FigureInput, makeFigure, median } from '../support/stats';
import { BenchPolicy, benchPolicies, GKE_STYLE } from '../policies';
import { allProbeEntries, coverage, Coverage, predictedCoverage, ProbeEntry, runBenchWorkload } from '../workload';

const PCI = 'pci-dss';
/** pci-dss with `detections: ['falco']` (test/bench/policies.ts): the volume the Falco rules cost. */
const PCI_FALCO = 'pci-dss-falco';
const PCI_TARGET = 0.4;

interface VolumeRun {
  readonly run: number;
  readonly workload: { bytes: number; events: number };
  readonly scripted: { bytes: number; events: number };
  readonly cluster: { bytes: number; events: number };
  readonly probes: { bytes: number; events: number };
  /** The apiserver's own requests during the run (not part of the workload; depends on time). */
  readonly selfTraffic: { bytes: number; events: number };
  readonly logBytes: number;
  /** The level the apiserver recorded for each probe entry (None when it wrote no event). */
  readonly observedLevels: string[];
  readonly observed: Coverage;
  readonly seconds: number;
}

async function measure(ctx: BenchContext, p: BenchPolicy, entries: readonly ProbeEntry[], ticks: number, run: number, keepLog: boolean): Promise<VolumeRun> {
  const dir = makeTempDir(`bench-volume-${p.id}`);
  try {
    const logPath = join(dir, 'audit.log');
    const started = Date.now();
    const cp = await startControlPlane({ version: ctx.kubernetesVersion, extraArgs: logBackendArgs(writePolicyFile(dir, p.policy), logPath) });
    let result;
    try {
      result = await runBenchWorkload(cp, entries, ticks);
    } finally {
      await cp.stop(); // one SIGTERM: the apiserver flushes the log
    }
    const seconds = (Date.now() - started) / 1000;
    const log = readLogVolume(logPath);
    const { probeIds, ids } = result;
    const scripted = volumeOf(log, ids.scripted);
    const cluster = volumeOf(log, ids.cluster);
    const probes = volumeOf(log, probeIds.values());
    const attributed = volumeOf(log, [...ids.scripted, ...ids.cluster, ...probeIds.values()]);
    const observedLevels = entries.map((e) => log.byAuditId.get(probeIds.get(e.requestKey) ?? '')?.level ?? 'None');
    const observed = coverage(entries, (_, i) => observedLevels[i]);
    if (keepLog) {
      const kept = join(ctx.tmpDir, `${p.id}-audit.log`);
      copyFileSync(logPath, kept);
      ctx.artifacts.set(ARTIFACT_PCI_LOG, kept);
    }
    return {
      run,
      workload: { bytes: scripted.bytes + cluster.bytes, events: scripted.events + cluster.events },
      scripted,
      cluster,
      probes,
      selfTraffic: { bytes: log.bytes - attributed.bytes, events: log.events - attributed.events },
      logBytes: log.bytes,
      observedLevels,
      observed,
      seconds,
    };
  } finally {
    removeTempDir(dir);
  }
}

const pct = (c: Coverage) => `${c.met}/${c.total}`;

/** Coverage of `subset` over all runs: an entry is met only if every run recorded it at its level. */
function worstOf(subset: readonly ProbeEntry[], rs: readonly VolumeRun[], all: readonly ProbeEntry[] = subset): Coverage {
  const index = new Map(all.map((e, i) => [e, i]));
  return coverage(subset, (e) => {
    const levels = rs.map((r) => r.observedLevels[index.get(e)!]);
    return levels.find((l) => coverage([e], () => l).met === 0) ?? levels[0];
  });
}

export const volumeSection: Section = {
  id: 'volume',
  title: 'Audit volume per policy',
  async run(ctx): Promise<SectionResult> {
    const runs = ctx.quick ? 1 : 3;
    const ticks = ctx.quick ? 5 : 30;
    const all = benchPolicies(ctx.kubernetesVersion);
    const policies = ctx.quick ? all.filter((p) => p.id === PCI || p.id === GKE_STYLE || p.id === PCI_FALCO) : all;
    for (const p of policies) {
      const problems = validatePolicy(p.policy, { kubernetesVersion: ctx.kubernetesVersion, strict: true });
      if (problems.length) throw new Error(`bench policy ${p.id} is not valid: ${problems.join('; ')}`);
    }
    const entries = allProbeEntries(ctx.kubernetesVersion);
    const pciEntries = entries.filter((e) => e.preset === PCI);
    const results = new Map<string, VolumeRun[]>(policies.map((p) => [p.id, []]));
    for (let r = 0; r < runs; r++) {
      // Rotate the order each run so no policy always runs first (or last) on a machine others share.
      const order = policies.map((_, i) => policies[(i + r) % policies.length]);
      for (const p of order) {
        const v = await measure(ctx, p, entries, ticks, r, p.id === PCI && r === runs - 1);
        results.get(p.id)!.push(v);
        ctx.log(`volume run ${r + 1}/${runs} ${p.id}: workload ${fmtBytes(v.workload.bytes)} in ${v.workload.events} events, probes ${pct(v.observed)} (${v.seconds.toFixed(1)} s)`);
      }
    }

    const gke = results.get(GKE_STYLE)!;
    const figures: Figure[] = [];
    const rows: (string | number)[][] = [];
    const details: Record<string, unknown> = {};
    for (const p of policies) {
      const rs = results.get(p.id)!;
      const predicted = predictedCoverage(p.policy, entries);
      const predictedPci = predictedCoverage(p.policy, pciEntries);
      // An entry counts as recorded at its level only if it was in every run.
      const observedAll = worstOf(entries, rs);
      const observedPci = worstOf(pciEntries, rs, entries);
      // Runs × entries where the real apiserver's level differs from evaluatePolicy's prediction.
      const predictedLevels = entries.map((e) => evaluatePolicy(p.policy, probeAttributes(e.probe)).level as string);
      const disagreements = rs.reduce((n, r) => n + r.observedLevels.filter((l, i) => l !== predictedLevels[i]).length, 0);
      const coverageExtra = {
        predictionDisagreements: disagreements,
        allPresetProbes: { predicted: { met: predicted.met, total: predicted.total }, observed: { met: observedAll.met, total: observedAll.total }, missed: observedAll.missed },
        pciProbes: { predicted: { met: predictedPci.met, total: predictedPci.total }, observed: { met: observedPci.met, total: observedPci.total }, missed: observedPci.missed },
      };
      const isPci = p.id === PCI;
      /** One figure: this policy's runs against GKE-style's runs of the same index. */
      const vsGke = (name: string, unit: string, what: string, pick: (r: VolumeRun) => number, more: Partial<FigureInput> = {}) =>
        makeFigure({
          section: 'volume', name: `volume.${name}.${p.id}`, unit, valueLabel: `${p.label}: ${what}`,
          baselineLabel: 'GKE-style policy, same requests, same run', values: rs.map(pick), baselines: gke.map(pick), ...more,
        });
      // GKE-style is every volume figure's baseline; a figure of it against itself would say nothing.
      if (p.id !== GKE_STYLE) {
        figures.push(
          vsGke('bytes', 'bytes', 'audit bytes of the workload', (r) => r.workload.bytes, {
            target: isPci
              ? {
                  on: 'ratio', op: '<=', limit: PCI_TARGET,
                  text: `≤ ${PCI_TARGET}× GKE-style bytes with every PCI probe at its required level`,
                  conditions: [
                    { text: `PCI probes predicted at required level (${pct(predictedPci)})`, met: predictedPci.met === predictedPci.total },
                    { text: `PCI probes recorded at required level by the apiserver (${pct(observedPci)})`, met: observedPci.met === observedPci.total },
                  ],
                }
              : undefined,
            extra: { policy: p.label, kind: p.kind, coverage: coverageExtra },
          }),
          vsGke('events', 'events', 'audit events of the workload', (r) => r.workload.events),
        );
      }
      if (isPci) {
        figures.push(vsGke('bytes-scripted-only', 'bytes', 'audit bytes of the scripted (e2e) workload alone, without the cluster-shaped traffic', (r) => r.scripted.bytes));
      }
      const m = (f: (r: VolumeRun) => number) => median(rs.map(f));
      rows.push([
        p.label,
        fmtBytes(m((r) => r.workload.bytes)),
        m((r) => r.workload.events),
        median(rs.map((r, i) => r.workload.bytes / gke[i].workload.bytes)).toFixed(2),
        fmtBytes(m((r) => r.scripted.bytes)),
        fmtBytes(m((r) => r.cluster.bytes)),
        fmtBytes(m((r) => r.selfTraffic.bytes)),
        `${pct(predicted)} / ${pct(observedAll)}`,
        `${pct(predictedPci)} / ${pct(observedPci)}`,
      ]);
      details[p.id] = { label: p.label, runs: rs };
    }
    return {
      figures,
      tables: [
        {
          title: 'Volume per policy (medians)',
          columns: ['policy', 'workload bytes', 'events', '× GKE-style', 'scripted part', 'cluster-shaped part', 'apiserver self-traffic (not in the figure)', 'all presets\' probes at required level (predicted / real apiserver)', 'PCI probes (predicted / real)'],
          rows,
        },
      ],
      notes: [
        `Workload per run: ${entries.length} preset requirement probes (not counted in the bytes), the e2e scripted workload (test/e2e/support/workload.ts runWorkload) and ${ticks} ticks of cluster-shaped traffic (3 node lease renewals, a leader-election renewal, a pod status update, an Event, a pod list and a ConfigMap read per tick, by service accounts in kube-system).`,
        'Bytes are attributed to requests by Audit-Id; the apiserver\'s own loopback traffic during the run is reported apart because it grows with wall time, not with the workload.',
        'GKE-style and Falco-style are hand-written from the shape described in shared/FACTS.md §5, not copies of the upstream files. "X for everything" policies omit RequestReceived like all the others.',
        `${runs} run(s) per policy, each on a fresh kube-apiserver v${ctx.kubernetesVersion} + etcd with the log backend; policies rotate order between runs.`,
      ],
      details,
    };
  },
};
