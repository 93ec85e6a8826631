export * from './model';
export * from './falco';
export * from './check';
export * from './sigma';
export * from './elastic';
