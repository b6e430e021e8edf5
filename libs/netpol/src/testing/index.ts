/**
 * @portico/netpol/testing: test inputs for NetworkPolicy code, kept off the production entry point.
 *
 * - generate.ts: the seeded case generator ({@link generateCase}, {@link Rng}), cyclonus's
 *   ingredients, for the renderer-vs-oracle, conformance and traffic tests.
 * - cluster.ts: small object builders and {@link Cluster}, which renders a snapshot and answers
 *   "is this connection allowed" through both the oracle and the rule simulator.
 */
export * from './generate.ts';
export * from './cluster.ts';
