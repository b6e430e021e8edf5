/** `--name N` from argv as a positive integer, else `fallback`; a bad value exits 2 naming flag and value. */
export function positiveIntArg(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`--${name}: invalid value ${JSON.stringify(argv[i + 1])}: want a positive integer\n`);
    process.exit(2);
  }
  return v;
}

/**
 * `--name VALUE` from argv, else `fallback`. A flag given without a value (last, or followed by
 * another flag) calls `usage`, the script's own exit-2 message.
 */
export function stringArg(name: string, fallback: string, usage: (msg: string) => never, argv: readonly string[] = process.argv): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) usage(`--${name}: missing value`);
  return v;
}
