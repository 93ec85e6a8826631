import { AuditRuleProps } from '../policy/audit-rule';
import { Level } from '../policy/model';

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
   * Which logged events count as evidence, beyond "decided by one of `rules`".
   * @default events decided by one of `rules`
   */
  readonly evidence?: EvidenceSelector;
  /** Backend flag values the requirement needs (checked against the preset's flags). */
  readonly flagChecks?: FlagCheck[];
  /** A note for the report, e.g. what the requirement needs beyond the audit policy. */
  readonly note?: string;
}

/** A flag the requirement needs set, or set to at least a number. */
export interface FlagCheck {
  /** Flag name without `--`, e.g. `audit-log-maxage`. */
  readonly flag: string;
  /** Minimum numeric value; absent means "must be set". */
  readonly atLeast?: number;
}

/** A predicate on logged events; kept as data so the report can describe it. */
export interface EvidenceSelector {
  readonly description: string;
  /** Response codes that count, e.g. [401, 403] for invalid access attempts. */
  readonly responseCodes?: number[];
  /** Verbs that count. */
  readonly verbs?: string[];
  /** Leave out requests by control-plane identities (`system:` users other than service accounts). */
  readonly individualUsersOnly?: boolean;
}

/** How long audit records are kept. */
export interface Retention {
  /** Days immediately available (node log files, sink store). */
  readonly onlineDays: number;
  /** Days kept in all (online plus archive). */
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
}
