export { AuditConfigError } from './errors';
export * from '../core/go-values';
export * from './flag-table';
export * from './flags';
export * from './backends';
export * from './apiserver-audit';
export * from './kubeconfig';
export * from './flag-docs';
export * from './webhook-receivers';
export {
  adviseBatching,
  advisedWebhookProps,
  checkBatching,
  settingsFromFlagValues,
  settingsOfWebhookBackend,
  settingsToFlags,
  webhookPropsFromSettings,
  MODEL_SOURCES,
  WEBHOOK_BATCH_DEFAULTS,
} from './advisor';
export type {
  AdvisorFinding,
  AdvisorStep,
  AuditLoad,
  AuditSinkProfile,
  BatchCapacity,
  BatchSettings,
  BatchingAdvice,
  BatchingAdvisorInput,
  BatchingCheck,
  FindingSeverity,
} from './advisor';
