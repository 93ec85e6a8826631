export * from './core/kubernetes-version';
export * from './policy';
export * from './backends';
export * from './control-plane';
export * from './tls/certs';
export * from './presets';
export * from './presets/alert-rules';
export * from './evidence';
export * from './gitops';
export * from './sink-server';
export * from './alerts';
export * from './detections';
// The sink constructs need cdk8s-plus-28 (an optional peer): import them from 'cdk8s-audit/sinks'.
