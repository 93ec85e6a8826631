import { Level, Stage, levelRank } from '../policy/model';

/** The detection rule sets the table knows. */
export type DetectionRuleSet = 'falco' | 'sigma' | 'elastic';
export const DETECTION_RULE_SETS: readonly DetectionRuleSet[] = ['falco', 'sigma', 'elastic'];

/** Where a detection's facts were read. */
export interface DetectionSource {
  /** Repository and file, e.g. `falcosecurity/plugins plugins/k8saudit/rules/k8s_audit_rules.yaml`. */
  readonly file: string;
  /** The version read: a commit, a release, or the rule's own version field. */
  readonly version: string;
}

/** One kind of request a detection watches, as a representative request the policy is evaluated for. */
export interface WatchedRequest {
  /** Verbs as the apiserver records them. */
  readonly verbs: readonly string[];
  /** API group; "" is the core group. */
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  /** Namespace the detection is about (a proposed fix is scoped to it). @default any: "default" represents every namespace */
  readonly namespace?: string;
  /** True for cluster-scoped resources (no namespace). */
  readonly clusterScoped?: boolean;
  /** The object name the detection is about (e.g. the `aws-auth` ConfigMap). @default any; "example" for a subresource */
  readonly name?: string;
  /**
   * The detection only looks at requests by this kind of user, represented by this one. Its first group other than
   * system:authenticated names the kind (system:unauthenticated, system:serviceaccounts): a proposed fix is scoped
   * to that group. @default any non-system user
   */
  readonly user?: { readonly name: string; readonly groups?: readonly string[] };
}

/**
 * One detection rule: what it watches and which audit-event fields its condition reads (not the fields its
 * output merely prints: a missing output field does not stop the rule from firing).
 *
 * Fields are audit.k8s.io/v1 Event paths: `.` between keys, `[]` for every element of an array,
 * `[key]` for a key that holds dots (annotations), e.g. `requestObject.spec.containers[].securityContext.privileged`.
 */
export interface Detection {
  readonly ruleSet: DetectionRuleSet;
  /** The rule's name as its rule set spells it. */
  readonly name: string;
  /** The rule's own identifier where its rule set has one (Sigma `id`, Elastic `rule_id`). */
  readonly id?: string;
  readonly source: DetectionSource;
  readonly watches: readonly WatchedRequest[];
  readonly reads: readonly string[];
  /** The stage of the events the rule reads. @default ResponseComplete */
  readonly stage?: Stage;
  /**
   * The levels the rule's condition accepts, when it tests the event's `level` field (some Elastic rules do):
   * then an event recorded at any other level, higher too, does not fire it. @default any level that records `reads`
   */
  readonly levels?: readonly Level[];
  /** Why the rule reads what it reads, or when it fires at all. */
  readonly note?: string;
}

/** The least level at which every field of `reads` is in the event (and, with `levels`, that the rule accepts). */
export function minimumLevel(reads: readonly string[], levels?: readonly Level[]): Level {
  const byReads = readsLevel(reads);
  if (!levels?.length) return byReads;
  const accepted = levels.filter((l) => levelRank(l) >= levelRank(byReads)).sort((a, b) => levelRank(a) - levelRank(b));
  return accepted[0] ?? byReads;
}

function readsLevel(reads: readonly string[]): Level {
  if (reads.some((f) => f === 'responseObject' || f.startsWith('responseObject.'))) return Level.REQUEST_RESPONSE;
  if (reads.some((f) => f === 'requestObject' || f.startsWith('requestObject.'))) return Level.REQUEST;
  return Level.METADATA;
}

/**
 * The values at a field path of an event (see {@link Detection.reads}); empty when the field is absent.
 * Pure, so the e2e suite judges recorded events by the same reading of the paths as the table.
 */
export function fieldValues(event: unknown, path: string): unknown[] {
  const tokens = [...path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)].map((m) => (m[1] !== undefined ? { key: m[1] } : m[2] === '' ? { each: true } : { key: m[2] }));
  let current: unknown[] = [event];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('each' in t) {
        if (Array.isArray(v)) next.push(...v);
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && (v as Record<string, unknown>)[t.key] !== undefined) {
        next.push((v as Record<string, unknown>)[t.key]);
      }
    }
    current = next;
  }
  return current;
}
