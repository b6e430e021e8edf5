export * from './golden.ts';
export * from './guards.ts';
export * from './t2.ts';
export * from './t2-apps.ts';
export * from './property.ts';
export * from './faults.ts';
export * from './t2-faults.ts';
