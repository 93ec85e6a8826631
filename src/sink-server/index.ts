// The remote audit sink's pure, public parts. The server and store (I/O) are used by the CLI verbs
// `sink serve` and `sink verify` and are importable from 'cdk8s-audit/lib/sink-server/…'.
export * from './record';
export * from './event-list';
export * from './signing';
export * from './layout';
export * from './units';
