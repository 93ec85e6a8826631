/**
 * The audit.k8s.io/v1 Policy, field for field (k8s.io/apiserver/pkg/apis/audit/v1/types.go).
 * Plain data: what `parsePolicy` returns and what `AuditPolicy` renders.
 */

export const AUDIT_API_VERSION = 'audit.k8s.io/v1';

/** How much of a request is recorded. */
export enum Level {
  /** Do not record the event. */
  NONE = 'None',
  /** Request metadata (user, timestamp, resource, verb…), no bodies. */
  METADATA = 'Metadata',
  /** Metadata and the request body. */
  REQUEST = 'Request',
  /** Metadata, request and response bodies. */
  REQUEST_RESPONSE = 'RequestResponse',
}

/** The points in a request's life at which an event can be generated. */
export enum Stage {
  REQUEST_RECEIVED = 'RequestReceived',
  RESPONSE_STARTED = 'ResponseStarted',
  RESPONSE_COMPLETE = 'ResponseComplete',
  PANIC = 'Panic',
}

export const LEVELS: readonly Level[] = [Level.NONE, Level.METADATA, Level.REQUEST, Level.REQUEST_RESPONSE];
export const STAGES: readonly Stage[] = [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.RESPONSE_COMPLETE, Stage.PANIC];

/** Orders levels from least to most detail. */
export function levelRank(level: Level | string): number {
  return LEVELS.indexOf(level as Level);
}

/** `GroupResources` in the upstream types. */
export interface GroupResources {
  /** API group; "" is the core group. */
  readonly group?: string;
  /** Resources: `resource/subresource`, `*`, a star-slash-subresource or `res/*` form; empty means every resource of the group. */
  readonly resources?: string[];
  /** Object names; needs resources. */
  readonly resourceNames?: string[];
}

/** `PolicyRule` in the upstream types. */
export interface PolicyRule {
  readonly level: Level | string;
  readonly users?: string[];
  readonly userGroups?: string[];
  readonly verbs?: string[];
  readonly resources?: GroupResources[];
  /** "" matches cluster-scoped resources. */
  readonly namespaces?: string[];
  readonly nonResourceURLs?: string[];
  readonly omitStages?: (Stage | string)[];
  readonly omitManagedFields?: boolean;
}

/** `Policy` in the upstream types. */
export interface PolicyDocument {
  readonly apiVersion: string;
  readonly kind: 'Policy';
  readonly metadata?: { readonly name?: string; readonly [key: string]: unknown };
  readonly rules: PolicyRule[];
  readonly omitStages?: (Stage | string)[];
  readonly omitManagedFields?: boolean;
}

/** The attributes of a request that the policy checker looks at (authorizer.Attributes). */
export interface RequestAttributes {
  readonly user?: { readonly name: string; readonly groups?: string[] };
  readonly verb: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly name?: string;
  readonly resourceRequest: boolean;
  readonly path: string;
}

/** What the policy checker decides for one request (auditinternal.RequestAuditConfig + the rule). */
export interface AuditDecision {
  readonly level: Level;
  /** Sorted, de-duplicated union of the policy's and the rule's omitStages. */
  readonly omitStages: Stage[];
  readonly omitManagedFields: boolean;
  /** Index of the first matching rule, or null when no rule matched (level None). */
  readonly ruleIndex: number | null;
}
