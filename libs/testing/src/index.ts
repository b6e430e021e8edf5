export * from './golden.ts';
export * from './t2.ts';
