/**
 * @portico/kube/testing: the test doubles of libs/kube, kept off the production entry point.
 *
 * - {@link FakeKube}: an in-memory API server behind the HTTP transport, so unit tests run the real
 *   client code (list, watch, apply, patch, Leases, Events, injected failures).
 * - {@link RecordingLogger}: keeps every log line for assertions.
 *
 * Time: FakeClock is in `@portico/runner/testing`.
 */
export * from './fake-kube.ts';
export * from './recording-logger.ts';
