export * from './audit-policy';
export * from './cluster-audit';
export * from './write-node-files';
export * from './secrets-layout';
export * from './control-plane-files';
