import { AUDIT_NAMESPACE_DEFAULT, PROBES } from './probes';
import { logFlags, webhookFlags } from './flags';
import { BodyLevel, PresetDefinition } from './types';
import { CREDENTIAL_RESOURCES, RULE_SETS, SYSTEM_RESOURCES, WRITE_VERBS } from './catalogue';
import { AUDIT_LOG_ACCESS, AUDIT_NAMESPACE_CHANGES, DENIED_REQUESTS, EVERY_REQUEST, READ_VERBS, resourceMatches, secretMaterial } from './evidence';
import { Level } from '../policy/model';

const CDE = 'cde';
const AUDIT = AUDIT_NAMESPACE_DEFAULT;

/** PCI DSS v4.0.1 Requirement 10: log and monitor all access to system components and cardholder data. */
export const PCI_DSS: PresetDefinition = {
  name: 'pci-dss',
  title: 'PCI DSS v4.0.1',
  framework: 'PCI DSS v4.0.1 Requirement 10',
  description: 'Every access at Metadata, changes to credentials and system objects with bodies, audit infrastructure watched; 12 months retention, 3 months online.',
  bodyLevel: BodyLevel.METADATA,
  rules: RULE_SETS.EVERY_ACCESS,
  requirements: [
    {
      id: '10.2.1.1', summary: 'All individual user accesses to cardholder data are logged',
      rules: ['secrets-metadata', 'reads-metadata', 'catch-all'],
      probes: [PROBES.readSecret(CDE), PROBES.listConfigMaps(CDE), PROBES.getPod(CDE)],
      evidence: {
        description: 'reads by people and service accounts (not control-plane components), in any namespace; secret material at exactly Metadata',
        individualUsersOnly: true,
        anyOf: [...secretMaterial({ verbs: READ_VERBS }), { verbs: READ_VERBS, objectsOnly: true, minLevel: Level.METADATA }],
      },
      note: `Cardholder data is assumed in namespace "${CDE}" for the probes; every namespace is covered the same way.`,
    },
    {
      id: '10.2.1.2', summary: 'All actions taken by any individual with administrative access are logged',
      rules: ['credential-changes', 'system-object-changes', 'workload-changes', 'writes', 'reads-metadata', 'catch-all'],
      probes: [PROBES.createClusterRoleBinding(), PROBES.deleteDeployment('default'), PROBES.getNodes()],
      evidence: {
        description: 'any request by people and service accounts (not control-plane components); secret material at exactly Metadata',
        individualUsersOnly: true,
        anyOf: [...secretMaterial(), { minLevel: Level.METADATA }],
      },
    },
    {
      id: '10.2.1.3', summary: 'All access to audit logs is logged',
      rules: ['audit-namespace-access', 'audit-namespace-writes', 'interactive-access'],
      probes: [PROBES.podLogs(AUDIT), PROBES.exec(AUDIT, 'sink-0'), PROBES.nodeLogs()],
      evidence: AUDIT_LOG_ACCESS,
      note: `The audit sink runs in namespace "${AUDIT}"; node log files are reachable through nodes/proxy.`,
    },
    {
      id: '10.2.1.4', summary: 'Invalid logical access attempts are logged',
      rules: ['catch-all', 'reads-metadata', 'secrets-metadata'],
      probes: [PROBES.forbiddenSecretRead(), PROBES.anonymousList()],
      evidence: DENIED_REQUESTS,
    },
    {
      id: '10.2.1.5', summary: 'Changes to identification and authentication credentials are logged',
      rules: ['secrets-metadata', 'credential-changes'],
      probes: [PROBES.tokenRequest(), PROBES.patchRoleBinding(), PROBES.createSecret('default')],
      evidence: {
        description: 'changes to secret material (at exactly Metadata) and to RBAC, service accounts and certificate requests (with bodies)',
        anyOf: [...secretMaterial({ verbs: WRITE_VERBS }), ...resourceMatches(CREDENTIAL_RESOURCES, { verbs: WRITE_VERBS, minLevel: Level.REQUEST })],
      },
    },
    {
      id: '10.2.1.6', summary: 'Initialization, stopping or pausing of the audit logs is logged',
      rules: ['audit-namespace-writes'],
      probes: [PROBES.deleteDeployment(AUDIT, 'audit-sink')],
      evidence: AUDIT_NAMESPACE_CHANGES,
      note: 'Changes to the apiserver audit flags happen on the node (static-pod manifest); keep that file under change detection too.',
    },
    {
      id: '10.2.1.7', summary: 'Creation and deletion of system-level objects are logged',
      rules: ['system-object-changes'],
      probes: [PROBES.createNamespace(), PROBES.deleteCrd(), PROBES.createWebhookConfig()],
      evidence: {
        description: 'creation and deletion of cluster-level objects (namespaces, nodes, CRDs, admission, API services…), with bodies',
        anyOf: resourceMatches(SYSTEM_RESOURCES, { verbs: ['create', 'delete', 'deletecollection'], minLevel: Level.REQUEST }),
      },
    },
    {
      id: '10.2.2', summary: 'Records hold user, event type, date and time, success or failure, origin, and affected resource',
      rules: ['catch-all', 'reads-metadata'],
      probes: [PROBES.getPod('default')],
      evidence: EVERY_REQUEST,
      note: 'Every audit event at Metadata or above carries user, verb, requestURI, timestamps, responseStatus.code, sourceIPs and objectRef.',
    },
    {
      id: '10.3', summary: 'Audit logs are protected from destruction and unauthorized modification, and backed up promptly',
      rules: [], probes: [], settings: { protection: true },
      note: 'Met by the remote sink (mTLS, fsync before acknowledgement, hash chain and signed digests, `cdk8s-audit sink verify`), not by the policy.',
    },
    {
      id: '10.5.1', summary: 'Audit log history is retained for at least 12 months, the last three immediately available',
      rules: [], probes: [],
      settings: { retainDays: 365 },
      note: 'Node files rotate away after at most 90 days (--audit-log-maxage 90); the sink keeps sealed segments 365 days (--retention-max-age 365d). Only a setting that cannot delete earlier counts: a size limit (--audit-log-maxbackup, --retention-max-bytes) can.',
    },
  ],
  retention: { onlineDays: 90, totalDays: 365, basis: 'PCI DSS 10.5.1: 12 months, 3 months immediately available' },
  logFlags: logFlags(90, 100, { 'audit-log-compress': true }),
  webhookFlags: webhookFlags(),
};
