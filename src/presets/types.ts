import { AuditRuleProps } from '../policy/audit-rule';
import { GroupResources, Level } from '../policy/model';

/** How much of the bodies of write requests a preset records. Secret material always stays at Metadata. */
export enum BodyLevel {
  /** Metadata only (who, what, when, outcome) for every write. Like OpenShift's "Default". */
  METADATA = 'metadata',
  /** Request bodies of writes. Like OpenShift's "WriteRequestBodies". */
  WRITE_BODIES = 'write-bodies',
  /** Request and response bodies of writes. Like OpenShift's "AllRequestBodies" (reads have no bodies). */
  ALL_BODIES = 'all-bodies',
}

/** Who sends a probe request. The real-control-plane suite maps these to real credentials. */
export enum ProbeCaller {
  /** A cluster administrator (group system:masters). */
  ADMIN = 'admin',
  /** An authenticated user without RBAC grants: resource requests are forbidden. */
  USER = 'user',
  /** No credentials (system:anonymous). */
  ANONYMOUS = 'anonymous',
}

/** An example request that demonstrates a requirement, with the level the requirement needs. */
export interface RequirementProbe {
  readonly description: string;
  readonly as: ProbeCaller;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with query, e.g. `/api/v1/namespaces/default/secrets/db`. */
  readonly path: string;
  /** JSON body for POST/PUT/PATCH. */
  readonly body?: unknown;
  /** The least detail that satisfies the requirement. */
  readonly minLevel: Level;
  /** The most detail allowed (e.g. Metadata for secrets). @default no limit */
  readonly maxLevel?: Level;
}

/** One row of a preset's requirement → rule table: the single source for the preset, docs and report. */
export interface Requirement {
  /** The framework's own id, e.g. `10.2.1.2`. */
  readonly id: string;
  readonly summary: string;
  /** Catalogue rule ids that satisfy it (see `CATALOGUE`). */
  readonly rules: string[];
  readonly probes: RequirementProbe[];
  /**
   * Which logged events are evidence for it.
   * @default the kinds of request its probes make (verb, group, resource/subresource), in any namespace,
   * at the probes' levels
   */
  readonly evidence?: EvidenceSelector;
  /** Retention and protection the settings must enforce. */
  readonly settings?: SettingsCheck;
  /** Backend flag values the requirement needs (checked against the preset's flags). */
  readonly flagChecks?: FlagCheck[];
  /** A note for the report, e.g. what the requirement needs beyond the audit policy. */
  readonly note?: string;
  /**
   * The requirement is about the personal data the user declares (`PresetOptions.personalDataNamespaces`,
   * `personalDataResources`): composing adds a read and a write probe, and an evidence match, for each.
   * @default false
   */
  readonly personalDataProbes?: boolean;
}

/** A flag the requirement needs set, or set to at least a number. */
export interface FlagCheck {
  /** Flag name without `--`, e.g. `audit-log-maxage`. */
  readonly flag: string;
  /** Minimum numeric value; absent means "must be set". */
  readonly atLeast?: number;
}

/**
 * One kind of request a requirement is about, with the levels it must be recorded at. Fields AND together;
 * an absent field matches anything. Kept as data so the report can describe it.
 */
export interface EvidenceMatch {
  /** Verbs as the apiserver records them (get, list, watch, create, update, patch, delete, deletecollection). */
  readonly verbs?: string[];
  /** API group; "" is the core group. */
  readonly group?: string;
  /** `resource` or `resource/subresource`, e.g. `pods/exec`. */
  readonly resources?: string[];
  /** Namespaces the requirement is about. */
  readonly namespaces?: string[];
  /** Only requests in the composed preset's audit-sink namespace (`--audit-namespace`). */
  readonly auditNamespace?: boolean;
  /** Object names. */
  readonly names?: string[];
  /** Only requests about API objects (not /version, /healthz and other non-resource URLs). */
  readonly objectsOnly?: boolean;
  /** Non-resource URL prefixes (e.g. `/healthz`), for requests that are not about API objects. */
  readonly nonResourceURLs?: string[];
  /** A substring the request URI must hold, e.g. `/proxy/logs` for node log files. */
  readonly uriIncludes?: string;
  /** Response codes that count, e.g. [401, 403] for invalid access attempts. */
  readonly responseCodes?: number[];
  /** The least detail a matching event must have. */
  readonly minLevel: Level;
  /** The most detail a matching event may have (Metadata for secret material). @default no limit */
  readonly maxLevel?: Level;
}

/**
 * Which logged events are evidence for a requirement: the kind of request it is about, not merely any
 * request a covering rule also matches. The first `anyOf` entry an event matches decides its level bounds.
 */
export interface EvidenceSelector {
  readonly description: string;
  readonly anyOf: EvidenceMatch[];
  /** Leave out requests by control-plane identities (`system:` users other than service accounts). */
  readonly individualUsersOnly?: boolean;
}

/** What the settings (not the policy) must enforce for a requirement. */
export interface SettingsCheck {
  /** Audit records must be kept at least this many days, immediately available (node files or the sink store). */
  readonly retainDays?: number;
  /** Audit records must be tamper-evident and off the node: a sink store that verifies. */
  readonly protection?: boolean;
  /**
   * Audit records must be deleted after at most this many days (a maximum, e.g. GDPR storage limitation):
   * the sink's age retention and the node log's rotation must both bound it.
   */
  readonly retainAtMostDays?: number;
}

/** How long audit records are kept. */
export interface Retention {
  /** Days the node's log files keep (`--audit-log-maxage`). */
  readonly onlineDays: number;
  /**
   * Days kept in all: the remote sink's age retention (`sink serve --retention-max-age`,
   * `AuditSink.retentionMaxAge`, see `sinkRetentionFor`), so every day claimed is a day some setting keeps.
   */
  readonly totalDays: number;
  /** Where the number comes from. */
  readonly basis: string;
}

/** Audit flag values by flag name (without `--`), as in the flag table. */
export type PresetFlags = Readonly<Record<string, string | number | boolean>>;

/** A compliance preset: rules, backend settings, retention and the requirement table. */
export interface PresetDefinition {
  readonly name: string;
  readonly title: string;
  /** The standard and version, e.g. "PCI DSS v4.0.1 Requirement 10". */
  readonly framework: string;
  readonly description: string;
  /** Catalogue rule ids the preset uses, with a level when it differs from the catalogue's. */
  readonly rules: readonly PresetRuleChoice[];
  /** Body detail for generic writes. */
  readonly bodyLevel: BodyLevel;
  readonly requirements: readonly Requirement[];
  readonly retention: Retention;
  /** Log backend flags (rotation meeting `retention.onlineDays`). */
  readonly logFlags: PresetFlags;
  /** Webhook backend flags. */
  readonly webhookFlags: PresetFlags;
}

export interface PresetRuleChoice {
  readonly id: string;
  /** Overrides the catalogue level (never above Metadata for secret rules). */
  readonly level?: Level;
}

/** One entry of the ordered rule catalogue every preset draws from. */
export interface CatalogueRule {
  readonly id: string;
  readonly description: string;
  /** Builds the rule for the given options. */
  readonly build: (options: CatalogueOptions) => AuditRuleProps | undefined;
  /** Secret material: the level may never exceed Metadata. */
  readonly secret?: boolean;
}

export interface CatalogueOptions {
  readonly bodyLevel: BodyLevel;
  /** Namespace of the audit sink (access to it is access to audit logs). */
  readonly auditNamespace: string;
  /** Namespaces the user declares as holding personal data. @default none */
  readonly personalDataNamespaces?: readonly string[];
  /** Resources the user declares as holding personal data. @default none */
  readonly personalDataResources?: readonly GroupResources[];
}
