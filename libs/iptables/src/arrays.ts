/**
 * Appends every element of `from` to `into` and returns `into`. Use this instead of
 * `into.push(...from)`: an argument spread puts every element on the call stack and throws
 * `RangeError: Maximum call stack size exceeded` somewhere above ~100,000 elements (the snapshot of a
 * large cluster is input-sized). Lint bans spreads in `push`/`unshift`/`splice`/`Math.max|min` calls.
 */
export function pushAll<T>(into: T[], from: Iterable<T>): T[] {
  for (const x of from) into.push(x);
  return into;
}
