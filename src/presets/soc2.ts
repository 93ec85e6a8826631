import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { RULE_SETS } from './catalogue';
import { matchForProbe } from './evidence';
import { Level } from '../policy/model';

/** SOC 2 Trust Services Criteria (2017, revised points of focus 2022): CC6.1, CC7.2. */
export const SOC2: PresetDefinition = {
  name: 'soc2',
  title: 'SOC 2',
  framework: 'AICPA Trust Services Criteria (SOC 2)',
  description: 'Monitoring for anomalies and evidence of logical access control; the criteria set no numbers, one year is common.',
  bodyLevel: BodyLevel.METADATA,
  rules: RULE_SETS.CHANGES_AND_ACCESS,
  requirements: [
    {
      id: 'CC6.1', summary: 'Logical access security: access and changes to access are controlled and recorded',
      rules: ['credential-changes', 'secrets-metadata', 'catch-all'],
      probes: [PROBES.createClusterRoleBinding(), PROBES.forbiddenSecretRead()],
    },
    {
      id: 'CC7.2', summary: 'System components are monitored for anomalies indicative of malicious acts',
      rules: ['interactive-access', 'system-object-changes', 'writes', 'catch-all'],
      probes: [PROBES.exec('default'), PROBES.createWebhookConfig(), PROBES.anonymousList()],
      evidence: {
        description: 'exec into pods, admission webhook changes, and denied requests (401, 403)',
        anyOf: [matchForProbe(PROBES.exec('default')), matchForProbe(PROBES.createWebhookConfig()), { responseCodes: [401, 403], minLevel: Level.METADATA }],
      },
    },
  ],
  retention: { onlineDays: 30, totalDays: 365, basis: 'SOC 2 sets no period; one year covers a type II observation window' },
  logFlags: logFlags(30, 30),
  webhookFlags: webhookFlags(),
};
