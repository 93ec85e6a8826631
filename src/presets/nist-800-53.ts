import { PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { RULE_SETS } from './catalogue';
import { AUDIT_LOG_ACCESS, EVERY_REQUEST } from './evidence';

/** NIST SP 800-53 Rev. 5, AU family. */
export const NIST_800_53: PresetDefinition = {
  name: 'nist-800-53',
  title: 'NIST SP 800-53 Rev. 5 (AU)',
  framework: 'NIST SP 800-53 Rev. 5, Audit and Accountability family',
  description: 'Event types of AU-2 with AU-3 content, write bodies for what changed, retention per OMB M-21-31.',
  bodyLevel: BodyLevel.WRITE_BODIES,
  rules: RULE_SETS.EVERY_ACCESS,
  requirements: [
    {
      id: 'AU-2', summary: 'Event logging: account changes, privileged functions, access to sensitive objects',
      rules: ['credential-changes', 'system-object-changes', 'secrets-metadata', 'interactive-access'],
      probes: [PROBES.createClusterRoleBinding(), PROBES.createNamespace(), PROBES.readSecret('default'), PROBES.exec('default')],
    },
    {
      id: 'AU-3', summary: 'Content of audit records: type, time, where, source, outcome, identity',
      rules: ['catch-all', 'reads-metadata', 'writes'],
      probes: [PROBES.getPod('default'), PROBES.patchDeployment('default')],
      evidence: EVERY_REQUEST,
      note: 'Metadata carries verb, timestamps, requestURI/objectRef, sourceIPs, responseStatus and user; writes add the request body.',
    },
    {
      id: 'AU-9', summary: 'Protection of audit information',
      rules: ['audit-namespace-writes', 'audit-namespace-access'], probes: [PROBES.podLogs('audit')],
      evidence: AUDIT_LOG_ACCESS, settings: { protection: true },
      note: 'Separate system (the remote sink) with cryptographic integrity (hash chain, signed digests).',
    },
    {
      id: 'AU-11', summary: 'Audit record retention',
      rules: [], probes: [], settings: { retainDays: 365 },
      note: 'OMB M-21-31: 12 months in active storage and 18 months in cold storage. Node files rotate away after 90 days; the sink keeps 913 days (--retention-max-age 913d), active and cold together.',
    },
    { id: 'AU-12', summary: 'Audit record generation', rules: ['catch-all'], probes: [PROBES.anonymousList()], evidence: EVERY_REQUEST, flagChecks: [{ flag: 'audit-policy-file' }] },
  ],
  retention: { onlineDays: 90, totalDays: 913, basis: 'OMB M-21-31: 12 months active plus 18 months cold storage (the sink keeps both)' },
  logFlags: logFlags(90, 100, { 'audit-log-compress': true }),
  webhookFlags: webhookFlags(),
};
