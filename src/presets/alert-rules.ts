/**
 * Default alert rules for the sink (`sink serve --rules`), per preset: indications of attack that an
 * audit trail exists to catch. Every rule names the requirements it serves; which rules a preset gets is
 * the table below. Pure: builds an AlertRulesDocument, no I/O.
 *
 * The rules only see what the audit policy records: each one needs the requests it is about logged at
 * Metadata or above with the ResponseComplete stage (every preset does this for these requests).
 */
import { ALERT_RULES_API_VERSION, ALERT_RULES_KIND, AlertRule, AlertRulesDocument, checkAlertRules } from '../sink-contract/alert-rules';
import { WRITE_VERBS } from './catalogue';
import { PRESET_NAMES } from './index';

export interface AlertRulePresetOptions {
  /**
   * Networks requests may come from (control-plane and node addresses, the admins' VPN, CI runners).
   * @default private and loopback ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, ::1/128, fd00::/8
   */
  readonly approvedSourceCidrs?: string[];
  /** Namespaces whose writes must come from approved networks (added to kube-system, kube-public, kube-node-lease). */
  readonly protectedNamespaces?: string[];
  /** Groups whose RBAC changes are expected (added to system:masters). */
  readonly adminGroups?: string[];
  /** Users whose RBAC changes are expected (e.g. a GitOps controller's service account). */
  readonly adminUsers?: string[];
}

export const DEFAULT_APPROVED_SOURCE_CIDRS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '::1/128', 'fd00::/8'];
export const DEFAULT_PROTECTED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** The control plane's own identities: they read secrets and reconcile RBAC all the time. */
const CONTROL_PLANE_USERS = ['system:apiserver', 'system:kube-controller-manager', 'system:kube-scheduler'];
/** Remote access into a running pod. */
const POD_ACCESS = [{ group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward'] }];
/** A burst: more than BURST_THRESHOLD creates in BURST_WINDOW by a user first seen within NEW_USER_PERIOD. */
const BURST_THRESHOLD = 20;
const BURST_WINDOW = '1m';
const NEW_USER_PERIOD = '24h';
/** Unauthenticated endpoints every cluster serves to probes and service-account token verifiers. */
const PUBLIC_URLS = ['/healthz*', '/livez*', '/readyz*', '/version', '/version/', '/.well-known/openid-configuration', '/openid/v1/jwks'];

/** One default rule and why presets carry it. */
export interface DefaultAlertRule {
  readonly build: (o: Required<AlertRulePresetOptions>) => AlertRule;
  /** Presets that include it. */
  readonly presets: readonly string[];
  /** Requirements it serves, by preset. */
  readonly requirements: string;
}

const ALL = PRESET_NAMES;

export const DEFAULT_ALERT_RULES: readonly DefaultAlertRule[] = [
  {
    presets: ALL.filter((p) => p !== 'baseline'),
    requirements: 'PCI DSS 10.2.1.2 (administrative actions), NIST AU-6 / SI-4, ISO 27001 A.8.16, SOC 2 CC7.2',
    build: (o) => ({
      name: 'protected-namespace-write-from-unapproved-source',
      type: 'source-cidr',
      severity: 'critical',
      description: 'a write in a protected namespace came from outside the approved networks',
      match: { verbs: [...WRITE_VERBS], namespaces: [...o.protectedNamespaces] },
      allowedSourceCidrSets: ['approved'],
    }),
  },
  {
    presets: ALL.filter((p) => p !== 'baseline'),
    requirements: 'PCI DSS 10.2.1.1 (access to cardholder data), HIPAA 164.312(b), NIST AU-6, SOC 2 CC6.1',
    build: () => ({
      name: 'new-secret-reader',
      type: 'first-seen',
      severity: 'warning',
      description: 'a user read secrets in a namespace for the first time',
      match: { verbs: ['get', 'list', 'watch'], resources: [{ group: '', resources: ['secrets'] }] },
      except: [{ users: [...CONTROL_PLANE_USERS] }, { userGroups: ['system:nodes'] }],
      outcome: 'success',
      key: ['user', 'namespace'],
    }),
  },
  {
    presets: ALL,
    requirements: 'CIS 3.2.2 (pods/exec audited), PCI DSS 10.2.1.2, NIST AC-17 / AU-6',
    build: () => ({
      name: 'exec-into-pod',
      type: 'match',
      severity: 'warning',
      description: 'exec, attach or port-forward into a pod',
      match: { resources: POD_ACCESS.map((r) => ({ ...r, resources: [...r.resources] })) },
    }),
  },
  {
    presets: ALL.filter((p) => p !== 'baseline'),
    requirements: 'PCI DSS 10.2.1.2, NIST AC-17 (remote access from approved networks)',
    build: () => ({
      name: 'exec-from-unapproved-source',
      type: 'source-cidr',
      severity: 'critical',
      description: 'exec, attach or port-forward into a pod from outside the approved networks',
      match: { resources: POD_ACCESS.map((r) => ({ ...r, resources: [...r.resources] })) },
      allowedSourceCidrSets: ['approved'],
    }),
  },
  {
    presets: ALL,
    requirements: 'PCI DSS 10.2.1.5 (changes to credentials and privileges), NIST AC-2 / AU-6, ISO 27001 A.8.2',
    build: (o) => ({
      name: 'rbac-change-by-non-admin',
      type: 'match',
      severity: 'critical',
      description: 'an RBAC role or binding was changed (or a change attempted) by someone who is not an administrator',
      match: { verbs: [...WRITE_VERBS], resources: [{ group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'] }] },
      except: [
        { userGroups: [...o.adminGroups] },
        { users: [...CONTROL_PLANE_USERS, 'system:serviceaccount:kube-system:clusterrole-aggregation-controller', ...o.adminUsers] },
      ],
    }),
  },
  {
    presets: ALL,
    requirements: 'CIS 1.2.1 (anonymous auth), PCI DSS 10.2.1.4, NIST AC-14 / AU-6',
    build: () => ({
      name: 'anonymous-request-succeeded',
      type: 'match',
      severity: 'critical',
      description: 'an unauthenticated request succeeded beyond the public health and discovery endpoints',
      match: { userGroups: ['system:unauthenticated'] },
      except: [{ nonResourceURLs: [...PUBLIC_URLS] }],
      outcome: 'success',
    }),
  },
  {
    presets: ALL.filter((p) => p !== 'baseline'),
    requirements: 'GDPR Art. 33 (detect a breach early), PCI DSS 10.4.1, HIPAA 164.308(a)(1)(ii)(D), NIST SI-4, SOC 2 CC7.2, ISO 27001 A.8.16',
    build: () => ({
      name: 'new-user-object-burst',
      type: 'rate',
      severity: 'warning',
      description: `a user first seen in the last ${NEW_USER_PERIOD} created more than ${BURST_THRESHOLD} objects within ${BURST_WINDOW}`,
      match: { verbs: ['create'] },
      // Reviews and connections are created too, but they are questions and sessions, not objects.
      except: [
        { users: [...CONTROL_PLANE_USERS] },
        { userGroups: ['system:nodes', 'system:serviceaccounts:kube-system'] },
        { resources: [{ group: 'authorization.k8s.io' }, { group: 'authentication.k8s.io' }, { group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward', 'serviceaccounts/token'] }] },
      ],
      key: ['user'],
      threshold: BURST_THRESHOLD,
      window: BURST_WINDOW,
      newKeysWithin: NEW_USER_PERIOD,
    }),
  },
  {
    presets: ALL.filter((p) => p !== 'baseline'),
    requirements: 'GDPR Art. 32(1)(b) / 33, HIPAA 164.308(a)(5)(ii)(C) (log-in monitoring), PCI DSS 10.2.1.2, NIST AC-7 / SI-4',
    build: () => ({
      name: 'user-from-new-network',
      type: 'first-seen',
      severity: 'warning',
      description: 'a user succeeded from a network (/24 IPv4, /48 IPv6 of the connecting address) never seen for them',
      // Pods and nodes change addresses with every reschedule; the location of people is what matters.
      except: [{ users: [...CONTROL_PLANE_USERS] }, { userGroups: ['system:nodes', 'system:serviceaccounts', 'system:unauthenticated'] }],
      outcome: 'success',
      key: ['user', 'sourceNetwork'],
    }),
  },
];

/**
 * The default alert rules of one or more presets (the union, in table order).
 * @throws Error naming an unknown preset, or AlertRulesError for bad options (e.g. a CIDR)
 */
export function presetAlertRules(presets: string | readonly string[], options: AlertRulePresetOptions = {}): AlertRulesDocument {
  const names = typeof presets === 'string' ? presets.split(',').map((p) => p.trim()).filter(Boolean) : [...presets];
  if (names.length === 0) throw new Error(`presets: none given; valid presets: ${PRESET_NAMES.join(', ')}`);
  for (const n of names) if (!PRESET_NAMES.includes(n)) throw new Error(`unknown preset ${JSON.stringify(n)}; valid presets: ${PRESET_NAMES.join(', ')}`);
  const o: Required<AlertRulePresetOptions> = {
    approvedSourceCidrs: options.approvedSourceCidrs ?? [...DEFAULT_APPROVED_SOURCE_CIDRS],
    protectedNamespaces: [...new Set([...DEFAULT_PROTECTED_NAMESPACES, ...(options.protectedNamespaces ?? [])])],
    adminGroups: [...new Set(['system:masters', ...(options.adminGroups ?? [])])],
    adminUsers: options.adminUsers ?? [],
  };
  const rules = DEFAULT_ALERT_RULES.filter((d) => d.presets.some((p) => names.includes(p))).map((d) => d.build(o));
  const needsSet = rules.some((r) => r.allowedSourceCidrSets?.includes('approved'));
  return checkAlertRules({
    apiVersion: ALERT_RULES_API_VERSION,
    kind: ALERT_RULES_KIND,
    ...(needsSet ? { cidrSets: { approved: o.approvedSourceCidrs } } : {}),
    rules,
  });
}
