import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { RULE_SETS } from './catalogue';
import { AUDIT_NAMESPACE_CHANGES, CREDENTIAL_CHANGES, DENIED_REQUESTS } from './evidence';

const EPHI = 'ephi';

/** HIPAA Security Rule, 45 CFR 164.312(b) audit controls and related safeguards. */
export const HIPAA: PresetDefinition = {
  name: 'hipaa',
  title: 'HIPAA Security Rule',
  framework: 'HIPAA Security Rule (45 CFR Part 164 Subpart C)',
  description: 'Activity on systems holding ePHI recorded and examinable; log-in monitoring; six-year retention.',
  bodyLevel: BodyLevel.METADATA,
  rules: RULE_SETS.EVERY_ACCESS,
  requirements: [
    {
      id: '164.312(b)', summary: 'Audit controls: record and examine activity in information systems that contain or use ePHI',
      rules: ['reads-metadata', 'writes', 'workload-changes', 'secrets-metadata', 'interactive-access', 'catch-all'],
      probes: [PROBES.readSecret(EPHI), PROBES.getPod(EPHI), PROBES.patchDeployment(EPHI), PROBES.exec(EPHI)],
      note: `ePHI is assumed in namespace "${EPHI}" for the probes; every namespace is covered the same way.`,
    },
    {
      id: '164.308(a)(5)(ii)(C)', summary: 'Log-in monitoring: log-in attempts and discrepancies are monitored',
      rules: ['catch-all', 'reads-metadata', 'secrets-metadata'],
      probes: [PROBES.forbiddenSecretRead(), PROBES.anonymousList()],
      evidence: DENIED_REQUESTS,
    },
    {
      id: '164.312(a)(1)', summary: 'Access control: changes to who may access ePHI systems are recorded',
      rules: ['credential-changes'],
      probes: [PROBES.createClusterRoleBinding(), PROBES.patchRoleBinding()],
      evidence: CREDENTIAL_CHANGES,
    },
    {
      id: '164.312(c)(1)', summary: 'Integrity: audit records are protected from improper alteration or destruction',
      rules: ['audit-namespace-writes', 'audit-namespace-access'], probes: [PROBES.deleteDeployment('audit', 'audit-sink')],
      evidence: AUDIT_NAMESPACE_CHANGES, settings: { protection: true },
      note: 'The remote sink adds a hash chain and signed digests; `cdk8s-audit sink verify` detects any change.',
    },
    {
      id: '164.316(b)(2)(i)', summary: 'Documentation retained for six years',
      rules: [], probes: [], settings: { retainDays: 2190 },
      note: 'The sink keeps sealed segments 2190 days (--retention-max-age 2190d). The rule names documentation; applying six years to audit logs is common practice, not an explicit requirement.',
    },
  ],
  retention: { onlineDays: 90, totalDays: 2190, basis: '164.316(b)(2)(i): six years (common practice for audit logs)' },
  logFlags: logFlags(90, 100, { 'audit-log-compress': true }),
  webhookFlags: webhookFlags(),
};
