/**
 * The log backend on a real kube-apiserver: for EVERY request the apiserver audited (its own internal
 * requests included) the level, the stages and the bodies must be exactly what `evaluatePolicy` predicts.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { evaluatePolicy } from '../../src/policy/evaluate';
import type { PolicyDocument } from '../../src/policy/model';
import { requestAttributesFromEvent } from '../../src/policy/request-attributes';
import { attributesFromEvents, AuditEvent, groupByAuditId, readJsonAuditLog } from './support/audit-events';
import { auditSetup } from './support/audit-files';
import { checkAllEvents, checkWorkloadSteps, formatDisagreements } from './support/agreement';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';
import { runWorkload, WorkloadResult } from './support/workload';
import { POLICY_GKE_STYLE, POLICY_RULES, WORKLOAD_NAMESPACE } from './policies';

interface Run {
  readonly events: AuditEvent[];
  readonly workload: WorkloadResult;
}

/** Starts an apiserver with `policy` and the log backend, runs the workload, stops (flushing), reads the log. */
async function runWithPolicy(version: string, policy: PolicyDocument): Promise<Run> {
  const dir = makeTempDir('log-backend');
  try {
    const { args, logPath } = auditSetup(version, dir, { policy, log: {} });
    const cp = await startControlPlane({ version, extraArgs: args });
    let workload: WorkloadResult;
    try {
      workload = await runWorkload(cp, { namespace: WORKLOAD_NAMESPACE });
    } finally {
      await cp.stop();
    }
    return { events: readJsonAuditLog(logPath!), workload };
  } finally {
    removeTempDir(dir);
  }
}

const POLICIES: ReadonlyArray<readonly [string, PolicyDocument]> = [
  ['rule-feature policy', POLICY_RULES],
  ['GKE-style policy (RequestReceived omitted)', POLICY_GKE_STYLE],
];

/** Everything at Metadata: the whole population of requests this apiserver serves during the workload. */
const REFERENCE_POLICY: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] };

describe.each(kubernetesVersions())('log backend, kube-apiserver v%s', (version) => {
  // One apiserver run per policy and version, shared by the tests that look at it.
  const runs = new Map<PolicyDocument, Promise<Run>>();
  const runFor = (policy: PolicyDocument): Promise<Run> => {
    if (!runs.has(policy)) runs.set(policy, runWithPolicy(version, policy));
    return runs.get(policy)!;
  };
  const getReference = () => runFor(REFERENCE_POLICY);
  afterAll(() => runs.clear());

  describe.each(POLICIES)('%s', (_name, policy) => {
    const getRun = () => runFor(policy);

    test('every audited request gets the level, stages and bodies evaluatePolicy predicts', async () => {
      const { events } = await getRun();
      const report = checkAllEvents(policy, events);
      console.log(`v${version}: ${report.events} events, ${report.requests} requests, by level ${JSON.stringify(report.byLevel)}`);
      expect(report.disagreements, formatDisagreements(policy, report.disagreements)).toEqual([]);
      expect(report.requests).toBeGreaterThan(100);
    });

    test('every workload step is audited as predicted, with the attributes the workload intended', async () => {
      const { events, workload } = await getRun();
      const problems = checkWorkloadSteps(policy, workload.steps, events);
      expect(problems, formatDisagreements(policy, problems)).toEqual([]);
    });
  });

  test('the rule-feature policy exercises every one of its rules on this apiserver\'s traffic', async () => {
    // None rules leave no events, so coverage is measured on the reference run, where every request is logged.
    const { events } = await getReference();
    const used = new Set<number>();
    for (const group of groupByAuditId(events).values()) {
      const index = evaluatePolicy(POLICY_RULES, attributesFromEvents(group)).ruleIndex;
      if (index !== null) used.add(index);
    }
    const unused = POLICY_RULES.rules.map((_, i) => i).filter((i) => !used.has(i));
    expect(unused, `rules never matched: ${unused.map((i) => `#${i} ${JSON.stringify(POLICY_RULES.rules[i])}`).join('; ')}`).toEqual([]);
  });

  test('the rule-feature policy keeps managedFields where a rule overrides omitManagedFields (the check can see them)', async () => {
    const { events } = await runFor(POLICY_RULES);
    expect(checkAllEvents(POLICY_RULES, events).bodiesWithManagedFields).toBeGreaterThan(0);
  });

  test('the agreement check can fail: the same log disagrees with a policy one rule away from the loaded one', async () => {
    const { events } = await runFor(POLICY_RULES);
    // Rule 10 ("pods/*" at Request) narrowed to pods/log: plain pod requests now fall through to other rules.
    const mutated: PolicyDocument = {
      ...POLICY_RULES,
      rules: POLICY_RULES.rules.map((rule, i) => (i === 10 ? { ...rule, resources: [{ group: '', resources: ['pods/log'] }] } : rule)),
    };
    expect(checkAllEvents(mutated, events).disagreements.length).toBeGreaterThan(0);
  });

  test('requestAttributesFromEvent (src) rebuilds the same attributes as this suite for every real event', async () => {
    const { events } = await getReference();
    const differences: string[] = [];
    for (const group of groupByAuditId(events).values()) {
      const ours = attributesFromEvents(group);
      const received = group.find((e) => e.stage === 'RequestReceived') ?? group[0];
      const theirs = JSON.parse(JSON.stringify(requestAttributesFromEvent(received)));
      const normalized = Object.fromEntries(Object.entries(theirs).filter(([, v]) => v !== '' && v !== undefined));
      if (!isDeepStrictEqual(normalized, ours)) {
        differences.push(`${received.requestURI} (${received.verb}): src ${JSON.stringify(normalized)} vs e2e ${JSON.stringify(ours)}`);
      }
    }
    expect(differences, differences.slice(0, 10).join('\n')).toEqual([]);
  });
});
