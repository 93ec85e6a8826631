export * from './policy';
export * from './backends';
export * from './control-plane';
export * from './tls/certs';
export * from './presets';
export * from './report';
export * from './gitops';
export * from './sink-server';
