export * from './names.ts';
export * from './hash.ts';
