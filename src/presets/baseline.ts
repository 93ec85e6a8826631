import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';

/** Noise reduction in the shape of GKE's policy: drop what no one reads, keep what changes things. */
export const BASELINE: PresetDefinition = {
  name: 'baseline',
  title: 'Baseline',
  framework: 'cdk8s-audit baseline (noise reduction as in GKE\'s policy)',
  description: 'No health checks, events, leases or control-plane reads; secrets at Metadata; writes with request bodies; everything else at Metadata.',
  bodyLevel: BodyLevel.WRITE_BODIES,
  rules: [
    { id: 'ignore-health-checks' }, { id: 'ignore-events' }, { id: 'ignore-leases' }, { id: 'ignore-system-reads' }, { id: 'ignore-node-status' },
    { id: 'secrets-metadata' }, { id: 'interactive-access' }, { id: 'workload-changes' }, { id: 'writes' }, { id: 'catch-all' },
  ],
  requirements: [
    { id: 'B1', summary: 'Secret material never appears in audit bodies', rules: ['secrets-metadata'], probes: [PROBES.createSecret('default'), PROBES.tokenRequest(), PROBES.tokenReview()] },
    { id: 'B2', summary: 'Changes are recorded with what changed', rules: ['writes'], probes: [PROBES.patchDeployment('default'), PROBES.createClusterRoleBinding()] },
    { id: 'B3', summary: 'Health checks are not recorded', rules: ['ignore-health-checks'], probes: [PROBES.healthCheck()] },
  ],
  // 30 days and 10 backups: the least kube-bench (CIS 1.2.17, 1.2.18) passes.
  retention: { onlineDays: 30, totalDays: 30, basis: 'operational troubleshooting; CIS 1.2.17 --audit-log-maxage ≥ 30' },
  logFlags: logFlags(30, 10),
  webhookFlags: webhookFlags(),
};
