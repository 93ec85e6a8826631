import { AUDIT_NAMESPACE_DEFAULT, PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition, PresetRuleChoice } from './types';
import { AUDIT_LOG_ACCESS, CREDENTIAL_CHANGES, EVERY_REQUEST, READ_VERBS, secretMaterial } from './evidence';
import { Level } from '../policy/model';

/**
 * The default maximum retention of audit records under GDPR, in days. GDPR sets no number: Art. 5(1)(e)
 * says "no longer than is necessary". The French supervisory authority's recommendation on logging
 * (CNIL, 2021) names six months to one year for access logs; the preset takes the lower end (183 days)
 * because audit events are themselves personal data. Change it with `PresetOptions.maxRetentionDays`.
 */
export const GDPR_MAX_RETENTION_DAYS = 183;
/** Days the node's log files keep (`--audit-log-maxage`): short, the sink holds the rest. */
const GDPR_ONLINE_DAYS = 30;

const AUDIT = AUDIT_NAMESPACE_DEFAULT;
const NOISE = ['ignore-health-checks', 'ignore-events', 'ignore-leases', 'ignore-system-reads', 'ignore-node-status'];
const choose = (...ids: string[]): readonly PresetRuleChoice[] => ids.map((id) => ({ id }));

/**
 * GDPR (Regulation (EU) 2016/679): access to personal data recorded without hoarding it. Audit events are
 * personal data themselves (user names, source addresses), so the preset records metadata only — bodies
 * only for changes to who may access what — and caps how long records are kept.
 */
export const GDPR: PresetDefinition = {
  name: 'gdpr',
  title: 'GDPR',
  framework: 'GDPR (Regulation (EU) 2016/679) Art. 5, 30, 32, 33',
  description: `Access to personal data at Metadata, never its bodies; access-control changes with bodies; records kept at most ${GDPR_MAX_RETENTION_DAYS} days.`,
  bodyLevel: BodyLevel.METADATA,
  // Reads are recorded by the catch-all at Metadata: who touched what, from where (Recital 49: logging for
  // network and information security is a legitimate interest), no content.
  rules: choose(...NOISE, 'secrets-metadata', 'interactive-access', 'audit-namespace-writes', 'audit-namespace-access', 'credential-changes',
    'system-object-changes', 'personal-data-namespaces', 'personal-data-resources', 'workload-changes', 'writes', 'catch-all'),
  requirements: [
    {
      id: 'Art. 32(1)(b)', summary: 'Access to personal data is recorded (who, when, from where, what, outcome), so confidentiality can be checked',
      rules: ['secrets-metadata', 'personal-data-namespaces', 'personal-data-resources', 'interactive-access', 'catch-all'],
      probes: [PROBES.readSecret('default'), PROBES.listConfigMaps('default'), PROBES.exec('default')],
      personalDataProbes: true,
      evidence: {
        description: 'reads of secret material (at exactly Metadata), exec/attach/port-forward, and any request in the declared personal-data namespaces and resources (at exactly Metadata)',
        individualUsersOnly: true,
        anyOf: [...secretMaterial({ verbs: READ_VERBS }), { group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward'], minLevel: Level.METADATA }],
      },
      note: 'Declare where personal data lives with personalDataNamespaces / personalDataResources (--personal-data-namespace, --personal-data-resource); secrets and configmaps are always covered.',
    },
    {
      id: 'Art. 5(1)(c)', summary: 'Data minimisation: audit records never hold the contents of personal data (no request or response bodies)',
      rules: ['secrets-metadata', 'personal-data-namespaces', 'personal-data-resources'],
      probes: [PROBES.createSecret('default'), PROBES.updateConfigMap('default'), PROBES.tokenReview()],
      personalDataProbes: true,
      evidence: {
        description: 'any request for secret material or declared personal data, at exactly Metadata',
        anyOf: secretMaterial(),
      },
    },
    {
      id: 'Art. 32(4)', summary: 'Changes to who may access personal data (RBAC, service accounts, certificates) are recorded with their bodies',
      rules: ['credential-changes'],
      probes: [PROBES.createClusterRoleBinding(), PROBES.patchRoleBinding()],
      evidence: CREDENTIAL_CHANGES,
    },
    {
      id: 'Art. 33(3)', summary: 'A breach can be investigated and documented: every request recorded with user, time, source address, outcome and object; refused attempts too',
      rules: ['catch-all', 'secrets-metadata'],
      probes: [PROBES.forbiddenSecretRead(), PROBES.anonymousList(), PROBES.getPod('default')],
      evidence: EVERY_REQUEST,
      note: 'Art. 33(1) gives 72 hours to notify: the sink alert rules (new-user bursts, unusual locations) are what makes that clock start early.',
    },
    {
      id: 'Art. 5(1)(f)', summary: 'Integrity and confidentiality of the audit records: changes to the audit sink recorded, records tamper-evident off the node',
      rules: ['audit-namespace-writes', 'audit-namespace-access'],
      probes: [PROBES.deleteDeployment(AUDIT, 'audit-sink'), PROBES.podLogs(AUDIT)],
      evidence: AUDIT_LOG_ACCESS,
      settings: { protection: true },
      note: 'Met by the remote sink (mTLS, hash chain, signed digests, `cdk8s-audit sink verify`). Forward to central logging pseudonymised (sink serve --pseudonymize-key) so the copy there holds no user names or addresses.',
    },
    {
      id: 'Art. 5(1)(e)', summary: 'Storage limitation: audit records are deleted after at most the stated period (the time limit for erasure Art. 30(1)(f) asks to record)',
      rules: [], probes: [],
      settings: { retainAtMostDays: GDPR_MAX_RETENTION_DAYS },
      note: `GDPR sets no number; ${GDPR_MAX_RETENTION_DAYS} days is the lower end of the CNIL's six months to one year for access logs. Enforced by the sink's --retention-max-age and the node log's --audit-log-maxage (which lumberjack applies only when it rotates a file by size).`,
    },
  ],
  retention: { onlineDays: GDPR_ONLINE_DAYS, totalDays: GDPR_MAX_RETENTION_DAYS, basis: `GDPR Art. 5(1)(e): at most ${GDPR_MAX_RETENTION_DAYS} days (CNIL: six months to one year for access logs)` },
  logFlags: logFlags(GDPR_ONLINE_DAYS, 10, { 'audit-log-compress': true }),
  webhookFlags: webhookFlags(),
};
