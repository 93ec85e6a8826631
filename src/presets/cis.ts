import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { EVERY_REQUEST } from './evidence';

/** CIS Kubernetes Benchmark (kube-bench cis-1.9 to cis-1.12), sections 1.2.16–1.2.19 and 3.2. */
export const CIS: PresetDefinition = {
  name: 'cis',
  title: 'CIS Kubernetes Benchmark',
  framework: 'CIS Kubernetes Benchmark v1.9–v1.12 (kube-bench cis-1.9…cis-1.12)',
  description: 'Audit log flags that pass kube-bench 1.2.16–1.2.19 and a policy covering the concerns of 3.2.2.',
  bodyLevel: BodyLevel.METADATA,
  rules: [
    { id: 'ignore-health-checks' }, { id: 'ignore-events' }, { id: 'ignore-leases' }, { id: 'ignore-system-reads' },
    { id: 'secrets-metadata' }, { id: 'interactive-access' }, { id: 'workload-changes' }, { id: 'writes' }, { id: 'catch-all' },
  ],
  requirements: [
    { id: '1.2.16', summary: 'Ensure that the --audit-log-path argument is set', rules: [], probes: [], flagChecks: [{ flag: 'audit-log-path' }] },
    { id: '1.2.17', summary: 'Ensure that the --audit-log-maxage argument is set to 30 or as appropriate', rules: [], probes: [], flagChecks: [{ flag: 'audit-log-maxage', atLeast: 30 }] },
    { id: '1.2.18', summary: 'Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate', rules: [], probes: [], flagChecks: [{ flag: 'audit-log-maxbackup', atLeast: 10 }] },
    { id: '1.2.19', summary: 'Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate', rules: [], probes: [], flagChecks: [{ flag: 'audit-log-maxsize', atLeast: 100 }] },
    { id: '3.2.1', summary: 'Ensure that a minimal audit policy is created', rules: ['catch-all'], probes: [PROBES.getNodes()], evidence: EVERY_REQUEST, flagChecks: [{ flag: 'audit-policy-file' }] },
    {
      id: '3.2.2', summary: 'Ensure that the audit policy covers key security concerns',
      rules: ['secrets-metadata', 'workload-changes', 'interactive-access'],
      probes: [
        PROBES.readSecret('default'), PROBES.updateConfigMap('default'), PROBES.tokenReview(),
        PROBES.createPod('default'), PROBES.patchDeployment('default'),
        PROBES.exec('default'), PROBES.portForward('default'), PROBES.podProxy('default'), PROBES.serviceProxy('default'),
      ],
      note: 'Secrets, ConfigMaps and TokenReviews at Metadata only; pod and deployment changes; pods/exec, pods/portforward, pods/proxy and services/proxy.',
    },
  ],
  retention: { onlineDays: 30, totalDays: 30, basis: 'CIS 1.2.17: --audit-log-maxage 30' },
  logFlags: logFlags(30, 10),
  webhookFlags: webhookFlags(),
};
