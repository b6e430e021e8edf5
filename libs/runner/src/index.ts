/**
 * @portico/runner: time as a parameter and the bounded sync runner (STYLE rule 7). Pure: cores may
 * import it.
 *
 * - clock.ts: the {@link Clock} port every timer in Portico goes through, and {@link sleep}.
 * - bounded-runner.ts: {@link BoundedRunner}, the coalescing, rate-limited, retrying, periodically
 *   resyncing scheduler of netpol-agent's syncs.
 *
 * The process clock is `realClock` in `@portico/runner/adapter`; the manual test clock is
 * `FakeClock` in `@portico/runner/testing`.
 */
export * from './clock.ts';
export * from './bounded-runner.ts';
