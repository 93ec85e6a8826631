export * from './kubeadm';
export * from './kind';
export * from './static-pod';
