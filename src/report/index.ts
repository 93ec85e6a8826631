export * from './evidence';
export * from './render';
