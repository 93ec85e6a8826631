export { AuditConfigError } from './errors';
export * from './go-values';
export * from './flag-table';
export * from './flags';
export * from './backends';
export * from './apiserver-audit';
export * from './kubeconfig';
export * from './flag-docs';
