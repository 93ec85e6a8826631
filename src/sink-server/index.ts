// The remote audit sink's pure, public parts. The server and store (I/O) are used by the CLI verbs
// `sink serve` and `sink verify` and are importable from 'cdk8s-audit/lib/sink-server/…'.
export * from './record';
export * from '../sink-contract/event-list';
export * from './signing';
export * from './layout';
export * from '../core/units';
export * from '../sink-contract/forward-format';
export { ALERT_RULES_API_VERSION, ALERT_RULES_KIND, AlertRulesError, alertRulesProblems, checkAlertRules, parseAlertRules, renderAlertRulesYaml } from '../sink-contract/alert-rules';
export type { AlertOutcome, AlertRule, AlertRuleType, AlertRulesDocument, AlertSelector, FirstSeenKeyField, SinkAlertSeverity, SourceIpMode } from '../sink-contract/alert-rules';
export { InMemoryFirstSeen, RulesEngine } from './rules-engine';
export type { AuditEventFields, FirstSeenMemory, SinkAlert } from './rules-engine';
