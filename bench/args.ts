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
