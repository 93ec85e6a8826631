import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { RULE_SETS } from './catalogue';
import { matchForProbe } from './evidence';
import { Level } from '../policy/model';

/** ISO/IEC 27001:2022 Annex A controls A.8.2 and A.8.15. */
export const ISO_27001: PresetDefinition = {
  name: 'iso-27001',
  title: 'ISO/IEC 27001:2022',
  framework: 'ISO/IEC 27001:2022 Annex A',
  description: 'Logs of activities, exceptions and privileged actions, protected and kept for a year.',
  bodyLevel: BodyLevel.METADATA,
  rules: RULE_SETS.CHANGES_AND_ACCESS,
  requirements: [
    {
      id: 'A.8.2', summary: 'Privileged access rights: their allocation and use are recorded',
      rules: ['credential-changes', 'system-object-changes'], probes: [PROBES.createClusterRoleBinding(), PROBES.createNamespace()],
    },
    {
      id: 'A.8.15', summary: 'Logging: logs of activities, exceptions, faults and other relevant events are produced and stored',
      rules: ['catch-all', 'writes', 'interactive-access', 'secrets-metadata'],
      probes: [PROBES.patchDeployment('default'), PROBES.exec('default'), PROBES.forbiddenSecretRead()],
      evidence: {
        description: 'changes to deployments, exec into pods, and denied requests (401, 403) as exceptions',
        anyOf: [matchForProbe(PROBES.patchDeployment('default')), matchForProbe(PROBES.exec('default')), { responseCodes: [401, 403], minLevel: Level.METADATA }],
      },
    },
  ],
  retention: { onlineDays: 30, totalDays: 365, basis: 'ISO 27001 sets no period; one year is common' },
  logFlags: logFlags(30, 30),
  webhookFlags: webhookFlags(),
};
