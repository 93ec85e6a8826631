export * from './policy/model';
