export * from './names.ts';
export * from './hash.ts';
export * from './addon.ts';
