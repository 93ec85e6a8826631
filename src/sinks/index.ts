export * from './common';
export * from './network';
export * from './webhook-sink';
export * from './audit-sink';
export * from './fluent-bit-sink';
export * from './vector-sink';
export * from './falco-sink';
export * from './outputs';
