export * from './cluster-audit';
export * from './write-node-files';
