export * from './cluster-audit';
export * from './write-node-files';
export * from './webhook-receivers';
export * from './secrets-layout';
