// The generic planner and its executor (pure): see planner.ts and docs/iptables.md.
export * from './observed.ts';
export * from './rule-key.ts';
export * from './entry-map.ts';
export * from './planner.ts';
export * from './execute.ts';
