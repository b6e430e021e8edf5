/**
 * @portico/runner/adapter: the process clock ({@link realClock}, Date.now and Node timers). Shells
 * and adapters pass it in; cores and tests never import it (tests use FakeClock from
 * @portico/runner/testing).
 */
export * from './real-clock.ts';
