export * from './flags.ts';
export * from './cli.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './server.ts';
export * from './shutdown.ts';
export * from './common-flags.ts';
export * from './shell-program.ts';
