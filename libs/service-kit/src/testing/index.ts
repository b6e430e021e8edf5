/**
 * @portico/service-kit/testing: checks every app's CLI shares ({@link assertHelpIsTrue}), kept off
 * the production entry point.
 */
export * from './help.ts';
