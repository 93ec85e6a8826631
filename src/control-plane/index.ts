export * from './kubeadm';
export * from './kind';
export * from './static-pod';
export * from './static-pod-edit';
export * from './cluster-api';
