/**
 * OpenShift: the cluster's `APIServer` (config.openshift.io/v1, name `cluster`) takes no audit policy
 * and no audit flags, only `spec.audit.profile` (Default | WriteRequestBodies | AllRequestBodies |
 * None) and `customRules[{group, profile}]` (openshift/api config/v1/types_apiserver.go, commit 738bd79).
 * The nearest profile is chosen by evaluating the policy on representative requests of an ordinary
 * user: bodies of reads recorded → AllRequestBodies; bodies of writes → WriteRequestBodies; metadata
 * only → Default; nothing → None. Everything the profile cannot say is listed, to be written into the
 * output beside it. Forwarding events off the cluster is the log collector's job there (no webhook).
 * Pure: no I/O.
 */
import { ApiserverAudit } from '../backends/apiserver-audit';
import { evaluatePolicy } from '../policy/evaluate';
import { PolicyDocument, RequestAttributes } from '../policy/model';

/** OpenShift's audit profiles, from least to most recorded. */
export enum OpenShiftAuditProfile {
  NONE = 'None',
  DEFAULT = 'Default',
  WRITE_REQUEST_BODIES = 'WriteRequestBodies',
  ALL_REQUEST_BODIES = 'AllRequestBodies',
}

const USER = { name: 'cdk8s-audit-probe', groups: ['system:authenticated'] };

function request(verb: string, resource: string, apiGroup = '', namespace = 'default'): RequestAttributes {
  const prefix = apiGroup ? `/apis/${apiGroup}/v1` : '/api/v1';
  return { user: USER, verb, namespace, apiGroup, apiVersion: 'v1', resource, resourceRequest: true, path: `${prefix}/namespaces/${namespace}/${resource}` };
}

/** Writes and reads of ordinary workload objects: what the profiles differ on. */
const WRITES = ['create', 'update', 'patch', 'delete'].flatMap((v) => [request(v, 'configmaps'), request(v, 'deployments', 'apps'), request(v, 'services')]);
const READS = ['get', 'list'].flatMap((v) => [request(v, 'configmaps'), request(v, 'deployments', 'apps'), request(v, 'pods')]);

const bodies = (level: string) => level === 'Request' || level === 'RequestResponse';

export interface OpenShiftAudit {
  readonly apiServer: Record<string, unknown>;
  readonly profile: OpenShiftAuditProfile;
  readonly notExpressible: readonly string[];
}

export function openShiftAudit(audit: ApiserverAudit, policy: PolicyDocument): OpenShiftAudit {
  const levels = (reqs: RequestAttributes[]) => reqs.map((r) => evaluatePolicy(policy, r).level);
  const writes = levels(WRITES);
  const reads = levels(READS);
  const profile = reads.some(bodies)
    ? OpenShiftAuditProfile.ALL_REQUEST_BODIES
    : writes.some(bodies)
      ? OpenShiftAuditProfile.WRITE_REQUEST_BODIES
      : [...writes, ...reads].some((l) => l !== 'None')
        ? OpenShiftAuditProfile.DEFAULT
        : OpenShiftAuditProfile.NONE;
  const notExpressible = [
    `the policy's ${policy.rules.length} rules: one profile applies to every resource (customRules choose a profile by user group only), so per-resource, per-verb and per-namespace levels are not kept`,
    ...(policy.omitStages?.length ? [`omitStages ${policy.omitStages.join(', ')}: OpenShift decides the stages`] : []),
    ...audit
      .args()
      .filter((a) => a.name !== 'audit-policy-file')
      .map((a) => `--${a.name}=${a.value}: OpenShift sets the apiserver's audit flags itself${a.name.startsWith('audit-webhook-') ? '; forward events with the cluster log forwarder instead of a webhook' : ''}`),
  ];
  return {
    apiServer: { apiVersion: 'config.openshift.io/v1', kind: 'APIServer', metadata: { name: 'cluster' }, spec: { audit: { profile } } },
    profile,
    notExpressible,
  };
}
