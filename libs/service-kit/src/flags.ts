/**
 * Flag and environment parsing with validation that reports every problem at once (STYLE rule 10):
 * each issue names the flag, its environment variable when it has one, and the value.
 * Parsed values are frozen; nothing after parsing reads process.env.
 */

export type FlagType = 'string' | 'int' | 'bool' | 'list' | 'duration';

export interface FlagSpec {
  /** Long flag name without dashes, e.g. `metrics-addr`. */
  readonly name: string;
  readonly type: FlagType;
  readonly description: string;
  /** Environment variable read when the flag is not given. */
  readonly env?: string;
  /** Value when neither the flag nor the environment sets it. @default undefined */
  readonly default?: string | number | boolean | readonly string[];
  /** The flag must end with a value. @default false */
  readonly required?: boolean;
  /** May be given several times (type `list` only); values accumulate. @default false */
  readonly repeatable?: boolean;
  /** Extra check on the parsed value; returns a reason when the value is wrong. */
  readonly validate?: (value: never) => string | undefined;
  /** Allowed values (type `string`). */
  readonly choices?: readonly string[];
}

export interface Issue {
  /** `--flag / ENV` as the user can set it. */
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

export type FlagValues = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export type ParseResult =
  | { readonly ok: true; readonly values: FlagValues; readonly positionals: readonly string[]; readonly help: boolean }
  | { readonly ok: false; readonly issues: readonly Issue[] };

export function fieldName(spec: FlagSpec): string {
  return spec.env ? `--${spec.name} / ${spec.env}` : `--${spec.name}`;
}

export function formatIssue(issue: Issue): string {
  return `invalid ${issue.field}: ${JSON.stringify(issue.value)}: ${issue.reason}`;
}

/** Parses a duration such as `500ms`, `30s`, `5m`, `1h` (or a bare number of seconds) into ms. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

/** Milliseconds as the flag syntax writes them, in the largest exact unit: 300000 -> `5m`, 1500 -> `1500ms`. */
function durationText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function convert(spec: FlagSpec, raw: string): { value?: FlagValues[string]; reason?: string } {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        return { reason: `must be one of ${spec.choices.join(', ')}` };
      }
      return { value: raw };
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) return { reason: 'must be an integer' };
      return { value: Number(raw.trim()) };
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return { value: true };
      if (['false', '0', 'no'].includes(v)) return { value: false };
      return { reason: 'must be true or false' };
    }
    case 'list':
      return { value: raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0) };
    case 'duration': {
      const ms = parseDuration(raw);
      return ms === undefined ? { reason: 'must be a duration such as 500ms, 30s, 5m or 1h' } : { value: ms };
    }
  }
}

/**
 * Parses `argv` (flags and positionals, no command name) against `specs`, with `env` as fallback.
 * `--help`/`-h` is always accepted. Unknown flags are issues.
 */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const raw = new Map<string, string[]>(); // flag name -> raw values given on the command line
  const positionals: string[] = [];
  const issues: Issue[] = [];
  const reported = new Set<string>(); // flags that already have an issue
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) {
      issues.push({ field: `--${name}`, value: arg, reason: 'unknown flag (see --help)' });
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.type === 'bool' && (i + 1 >= argv.length || argv[i + 1]!.startsWith('--') || !/^(true|false|1|0|yes|no)$/i.test(argv[i + 1]!))) value = 'true';
    else if (i + 1 < argv.length) value = argv[++i]!;
    else {
      issues.push({ field: fieldName(spec), value: '', reason: 'needs a value' });
      reported.add(name);
      continue;
    }
    const list = raw.get(name) ?? [];
    list.push(value);
    raw.set(name, list);
  }
  if (help) return { ok: true, values: {}, positionals, help };

  const values: Record<string, FlagValues[string]> = {};
  for (const spec of specs) {
    if (reported.has(spec.name)) continue;
    const given = raw.get(spec.name);
    let rawValues: string[] | undefined = given;
    if (!rawValues && spec.env !== undefined && env[spec.env] !== undefined) rawValues = [env[spec.env]!];
    if (!rawValues) {
      if (spec.required) issues.push({ field: fieldName(spec), value: '', reason: 'is required' });
      values[spec.name] = spec.default as FlagValues[string];
      continue;
    }
    if (rawValues.length > 1 && !spec.repeatable) {
      issues.push({ field: fieldName(spec), value: rawValues.join(' '), reason: 'given more than once' });
      continue;
    }
    let parsed: FlagValues[string];
    let bad = false;
    if (spec.type === 'list') {
      parsed = rawValues.flatMap((r) => convert(spec, r).value as string[]);
    } else {
      const c = convert(spec, rawValues[0]!);
      if (c.reason) {
        issues.push({ field: fieldName(spec), value: rawValues[0]!, reason: c.reason });
        bad = true;
      }
      parsed = c.value;
    }
    if (bad) continue;
    if (spec.required && (parsed === '' || (Array.isArray(parsed) && parsed.length === 0))) {
      issues.push({ field: fieldName(spec), value: rawValues.join(','), reason: 'must not be empty' });
      continue;
    }
    const reason = spec.validate?.(parsed as never);
    if (reason) {
      issues.push({ field: fieldName(spec), value: rawValues.join(','), reason });
      continue;
    }
    values[spec.name] = parsed;
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, values: Object.freeze(values), positionals, help: false };
}

/** Renders the flags section of `--help` from the same specs that parse them. */
export function flagsHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.type === 'bool' ? '' : ` <${s.type === 'list' ? 'a,b,...' : s.type}>`}`;
    const extras: string[] = [];
    if (s.env) extras.push(`env ${s.env}`);
    if (s.default !== undefined && !(Array.isArray(s.default) && s.default.length === 0)) {
      const shown = Array.isArray(s.default) ? s.default.join(',') : s.type === 'duration' && typeof s.default === 'number' ? durationText(s.default) : String(s.default);
      extras.push(`default ${shown}`);
    }
    if (s.required) extras.push('required');
    if (s.repeatable) extras.push('repeatable');
    return { left, right: s.description + (extras.length ? ` (${extras.join('; ')})` : '') };
  });
  const width = Math.max(0, ...rows.map((r) => r.left.length)) + 2;
  return rows.map((r) => r.left.padEnd(width) + r.right).join('\n');
}

/** Validates a `host:port` listen address; `:port` and `0` (disabled) are accepted. */
export function validateListenAddr(value: string): string | undefined {
  if (value === '0' || value === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (!m) return 'must be host:port, [ipv6]:port, :port or 0 to disable';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return 'port must be 1-65535';
  return undefined;
}

/** Splits a validated listen address into host and port; `0` gives undefined (disabled). */
export function splitListenAddr(value: string): { host: string; port: number } | undefined {
  if (value === '0' || value === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new Error(`invalid listen address ${value}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
