import type { Clock, TimerHandle } from '../clock.ts';

/**
 * The process clock. Timers are ordinary (ref'd) Node timers: a campaigning elector or a backing-off
 * watch keeps the process alive, as it should; every component clears its timers on stop().
 */
export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
