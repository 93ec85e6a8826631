/**
 * Every compliance preset on the real kube-apiserver: the policy loads on each built version, every
 * requirement's example request is recorded at the level the requirement table declares (and the
 * level evaluatePolicy predicts), every event of the workload agrees with evaluatePolicy, and the
 * secret canary never reaches the audit log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, evaluatePolicy, getPreset } from '../../src';
import { levelRank } from '../../src/policy';
import { ProbeCaller, probeAttributes } from '../../src/presets';
import { checkAllEvents, formatDisagreements } from './support/agreement';
import { logBackendArgs, writePolicyFile } from './support/audit-files';
import { groupByAuditId, readJsonAuditLog } from './support/audit-events';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane } from './support/control-plane';
import { Caller } from './support/kube-client';
import { cleanUpAfterEach } from './support/teardown';
import { runWorkload } from './support/workload';
import { KubernetesVersion } from '../../src/core/kubernetes-version';

const [newest, ...older] = kubernetesVersions();
const perTest = cleanUpAfterEach();

async function startWithPreset(name: string, version: string): Promise<{ cp: ControlPlane; logPath: string }> {
  const dir = perTest.tempDir(`preset-${name}`);
  const { policy } = getPreset(name, { kubernetesVersion: KubernetesVersion.of(version) });
  const logPath = join(dir, 'audit.log');
  const cp = await perTest.startControlPlane({ version, extraArgs: logBackendArgs(writePolicyFile(dir, policy), logPath) });
  return { cp, logPath };
}

function callerFor(cp: ControlPlane, as: ProbeCaller): Caller {
  if (as === ProbeCaller.ANONYMOUS) return { anonymous: true };
  return { token: (as === ProbeCaller.ADMIN ? cp.users.admin : cp.users.alice).token };
}

/** Sends every probe of the preset's requirement table; returns auditID per probe. */
async function sendProbes(cp: ControlPlane, name: string) {
  const composed = getPreset(name, { kubernetesVersion: KubernetesVersion.of(cp.version) });
  const sent = [];
  for (const req of composed.requirements) {
    for (const probe of req.probes) {
      const res = await cp.client.request(probe.method, probe.path, probe.body, {
        caller: callerFor(cp, probe.as),
        contentType: probe.method === 'PATCH' ? 'application/merge-patch+json' : undefined,
      });
      sent.push({ req, probe, auditId: res.auditId, status: res.status });
    }
  }
  return { composed, sent };
}

describe.each(PRESET_NAMES)('preset %s on the real kube-apiserver', (name) => {
  it(`${newest}: every requirement's example request is recorded at its declared level; the workload agrees; no secret canary`, async () => {
    const { cp, logPath } = await startWithPreset(name, newest);
    const { composed, sent } = await sendProbes(cp, name);
    const workload = await runWorkload(cp);
    await cp.stop();

    const text = readFileSync(logPath, 'utf8');
    const events = readJsonAuditLog(logPath);
    const byId = groupByAuditId(events);
    const problems: string[] = [];
    for (const { req, probe, auditId, status } of sent) {
      const label = `${name} ${req.id} "${probe.description}" (${probe.method} ${probe.path} → HTTP ${status})`;
      if (!auditId) {
        problems.push(`${label}: no Audit-Id header in the response`);
        continue;
      }
      const predicted = evaluatePolicy(composed.policy, probeAttributes(probe)).level;
      const levels = [...new Set((byId.get(auditId) ?? []).map((e) => e.level))];
      const observed = levels[0] ?? 'None';
      if (levels.length > 1) problems.push(`${label}: events at several levels ${levels.join(', ')}`);
      if (observed !== predicted) problems.push(`${label}: the apiserver recorded ${observed}, evaluatePolicy predicts ${predicted}`);
      if (levelRank(observed) < levelRank(probe.minLevel)) problems.push(`${label}: recorded at ${observed}, the requirement needs at least ${probe.minLevel}`);
      if (probe.maxLevel && levelRank(observed) > levelRank(probe.maxLevel)) problems.push(`${label}: recorded at ${observed}, the requirement allows at most ${probe.maxLevel}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);

    const report = checkAllEvents(composed.policy, events);
    expect(report.disagreements, formatDisagreements(composed.policy, report.disagreements)).toEqual([]);
    expect(report.requests).toBeGreaterThan(50);
    // The canary is written to a Secret by the workload; a ConfigMap canary proves the search can find bodies.
    expect(text.includes(workload.secretCanary), `the secret canary ${workload.secretCanary.slice(0, 16)}… is in the audit log`).toBe(false);
    expect(text).not.toContain('probe-secret-value');
  });

  it.each(older)('%s loads the preset and records its probes as predicted', async (version) => {
    const { cp, logPath } = await startWithPreset(name, version);
    const { composed, sent } = await sendProbes(cp, name);
    await cp.stop();
    const byId = groupByAuditId(readJsonAuditLog(logPath));
    const wrong = sent
      .map(({ probe, auditId }) => ({ probe, observed: (byId.get(auditId ?? '') ?? [])[0]?.level ?? 'None', predicted: evaluatePolicy(composed.policy, probeAttributes(probe)).level }))
      .filter((x) => x.observed !== x.predicted)
      .map((x) => `${x.probe.method} ${x.probe.path}: recorded ${x.observed}, predicted ${x.predicted}`);
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});
