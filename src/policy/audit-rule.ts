import { GroupResources, Level, PolicyRule, Stage } from './model';

/** A policy rule with typed level and stages; the construct-API form of `PolicyRule`. */
export interface AuditRuleProps {
  /** How much of a matching request is recorded. */
  readonly level: Level;
  /** User names to match (exact). @default every user */
  readonly users?: string[];
  /** Groups to match (any of them). @default every group */
  readonly userGroups?: string[];
  /** Request verbs (lower case: get, list, watch, create, update, patch, delete, deletecollection). @default every verb */
  readonly verbs?: string[];
  /** API groups and resources. @default every resource (and, without namespaces, every non-resource URL) */
  readonly resources?: GroupResources[];
  /** Namespaces; "" is the cluster scope. @default every namespace */
  readonly namespaces?: string[];
  /** Non-resource URL paths: exact, `*`, or a prefix ending in `*`. @default none */
  readonly nonResourceURLs?: string[];
  /** Stages not to record for this rule, on top of the policy's. @default none */
  readonly omitStages?: Stage[];
  /** Overrides the policy's omitManagedFields for this rule. @default the policy's setting */
  readonly omitManagedFields?: boolean;
}

/** Factories for `GroupResources` entries. */
export class ApiResources {
  /** Resources of the core ("") group, e.g. `ApiResources.core('pods', 'pods/exec')`. */
  public static core(...resources: string[]): GroupResources {
    return { group: '', resources };
  }

  /** Resources of a named group; no resources means the whole group. */
  public static group(group: string, ...resources: string[]): GroupResources {
    return resources.length ? { group, resources } : { group };
  }

  /** Named objects of one resource. */
  public static named(group: string, resource: string, ...names: string[]): GroupResources {
    return { group, resources: [resource], resourceNames: names };
  }
}

/** Resources whose bodies hold credentials: record them at Metadata at most. */
export const SECRET_RESOURCES: readonly GroupResources[] = [
  { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
  { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
];

/** Endpoints probed constantly by kubelets, load balancers and Prometheus. */
export const HEALTH_URLS: readonly string[] = ['/healthz*', '/livez*', '/readyz*', '/version', '/version/', '/metrics'];

/**
 * Factories for common rules.
 * @example
 * policy.addRule(AuditRule.secretsAtMetadata());
 * policy.addRule(AuditRule.forResources(Level.REQUEST_RESPONSE, [ApiResources.group('rbac.authorization.k8s.io')]));
 */
export class AuditRule {
  /** A rule with every field given explicitly. */
  public static of(props: AuditRuleProps): AuditRuleProps {
    return props;
  }

  /** Secrets, ConfigMaps, TokenReviews and TokenRequests at Metadata, so no body is ever recorded. */
  public static secretsAtMetadata(options: Omit<AuditRuleProps, 'level' | 'resources'> = {}): AuditRuleProps {
    return { ...options, level: Level.METADATA, resources: SECRET_RESOURCES.map((gr) => ({ ...gr, resources: [...gr.resources!] })) };
  }

  /** Health, readiness, version and metrics endpoints: not recorded. */
  public static ignoreHealthChecks(): AuditRuleProps {
    return { level: Level.NONE, nonResourceURLs: [...HEALTH_URLS] };
  }

  /** Event objects (core and events.k8s.io): high volume, little audit value. */
  public static ignoreEvents(): AuditRuleProps {
    return { level: Level.NONE, resources: [{ group: '', resources: ['events'] }, { group: 'events.k8s.io', resources: ['events'] }] };
  }

  /** Requests by these users are not recorded (e.g. noisy controllers). */
  public static ignoreUsers(users: string[], options: Omit<AuditRuleProps, 'level' | 'users'> = {}): AuditRuleProps {
    if (users.length === 0) throw new Error('AuditRule.ignoreUsers: users is empty; an empty list would match every user');
    return { ...options, level: Level.NONE, users };
  }

  /** Requests in these namespaces are not recorded. */
  public static ignoreNamespaces(namespaces: string[], options: Omit<AuditRuleProps, 'level' | 'namespaces'> = {}): AuditRuleProps {
    if (namespaces.length === 0) throw new Error('AuditRule.ignoreNamespaces: namespaces is empty; an empty list would match every request');
    return { ...options, level: Level.NONE, namespaces };
  }

  /** The given resources at `level`. */
  public static forResources(level: Level, resources: GroupResources[], options: Omit<AuditRuleProps, 'level' | 'resources'> = {}): AuditRuleProps {
    if (resources.length === 0) throw new Error('AuditRule.forResources: resources is empty; use AuditRule.catchAll to match everything');
    return { ...options, level, resources };
  }

  /** Read-only verbs (get, list, watch) at `level`. */
  public static reads(level: Level, options: Omit<AuditRuleProps, 'level' | 'verbs'> = {}): AuditRuleProps {
    return { ...options, level, verbs: ['get', 'list', 'watch'] };
  }

  /** Every request not matched before, at `level`. Put it last. */
  public static catchAll(level: Level = Level.METADATA, options: Pick<AuditRuleProps, 'omitStages' | 'omitManagedFields'> = {}): AuditRuleProps {
    return { ...options, level };
  }
}

/** Drops empty optional lists so the rendered rule shows only what constrains it. */
export function toPolicyRule(props: AuditRuleProps): PolicyRule {
  const rule: Record<string, unknown> = { level: props.level };
  for (const key of ['users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs', 'omitStages'] as const) {
    const v = props[key];
    if (v !== undefined && v.length > 0) rule[key] = key === 'resources' ? (v as GroupResources[]).map((gr) => ({ ...gr })) : [...v];
  }
  if (props.omitManagedFields !== undefined) rule.omitManagedFields = props.omitManagedFields;
  return rule as unknown as PolicyRule;
}
