export * from './model';
export * from './falco';
export * from './check';
