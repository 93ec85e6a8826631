import { checkDetections } from '../detections/check';
import { DetectionRuleSet } from '../detections/model';
import type { ClusterAudit } from '../gitops/cluster-audit';

/** Which detection rules a sink's events feed, and the ClusterAudit whose policy decides what those events hold. */
export interface SinkDetections {
  /** The ClusterAudit whose apiserver sends the sink its events. */
  readonly clusterAudit: ClusterAudit;
  /** Rule sets that read the forwarded events, e.g. ['elastic'] behind forwardElasticsearch, ['sigma'] in a SIEM. */
  readonly ruleSets: DetectionRuleSet[];
  /** Rule names you accept as silenced by the policy (exact names). @default none */
  readonly allowSilencedRules?: string[];
}

/**
 * The synth-time message naming the detection rules the ClusterAudit's policy silences (status not-covered, not
 * allowed), with each gap's deciding rule and fix; undefined when none. Withheld rules (they would need secret
 * bodies) are never required.
 */
export function silencedDetectionsProblem(prop: string, d: SinkDetections): string | undefined {
  const allowed = d.allowSilencedRules ?? [];
  const open = checkDetections(d.clusterAudit.policy.toDocument(), d.ruleSets).filter((r) => r.status === 'not-covered' && !allowed.includes(r.detection.name));
  if (open.length === 0) return undefined;
  const lines = open.flatMap((r) => [`  - ${r.detection.ruleSet} "${r.detection.name}" (needs ${r.minLevel}):`, ...r.gaps.map((g) => `      ${g.request}: ${g.fix}`)]);
  const fixable = open.filter((r) => r.gaps.some((g) => g.fixRule || g.stageOmitted));
  const sets = [...new Set(fixable.map((r) => `'${r.detection.ruleSet}'`))].join(', ');
  // Rules that fire only below the level the policy gives: raising levels cannot help, and lowering is the user's call.
  const tooHigh = open.filter((r) => !fixable.includes(r)).map((r) => `"${r.detection.name}"`);
  const fixes = [
    ...(fixable.length ? [`presetOptions.detections: [${sets}] on the ClusterAudit (or add the rules above)`] : []),
    ...(tooHigh.length ? [`for ${tooHigh.join(', ')} (recorded above the level the rule accepts): change that detection rule, or lower the policy yourself`] : []),
    'or list the names in allowSilencedRules',
  ];
  return `${prop} ${d.clusterAudit.node.path}: its policy silences ${open.length} detection rule(s) these events feed:\n${lines.join('\n')}\n  fix: ${fixes.join('; ')}`;
}
