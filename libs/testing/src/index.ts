export * from './golden.ts';
