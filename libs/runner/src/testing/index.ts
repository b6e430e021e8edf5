/**
 * @portico/runner/testing: the manual clock for unit tests ({@link FakeClock}) and {@link flush},
 * kept off the production entry points.
 */
export * from './fake-clock.ts';
