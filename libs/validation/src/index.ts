/**
 * @portico/validation — the building blocks of validating Kubernetes objects as the API server does
 * (type:core: no I/O). Every check takes `unknown`, never throws, and appends one
 * {@link FieldProblem} per problem (field as a JSON path such as `spec.ports[0].port`, the value as
 * text, and why it is rejected) to the list it is given. The per-kind validators live with the core
 * that reads the kind (libs/servicelb: Service, Node, Pod, EndpointSlice, DaemonSet; libs/addon: the
 * Addon and HelmChart CRDs); they are built from these checks so that every core reports the same
 * shape problems in the same words.
 */

/** One problem with one field of an object. */
export interface FieldProblem {
  /** JSON path of the field (`spec.ports[1].port`); '' for the whole object. */
  readonly field: string;
  /** The offending value as text (see {@link showValue}). */
  readonly value: string;
  /** Why it is rejected. */
  readonly message: string;
}

/** Where checks append their problems. */
export type Problems = FieldProblem[];

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const absent = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A value as problem text: strings as they are, anything else as (shortened) JSON. Never throws. */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** `a map`, `a list`, `null`, `a string`... for messages. */
export const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : `a ${typeof v}`);

function add(out: Problems, field: string, value: unknown, message: string): void {
  out.push({ field, value: showValue(value), message });
}

/** A list field (absent is an empty list); returns its items to check further. */
export function list(out: Problems, v: unknown, field: string): readonly unknown[] {
  if (absent(v)) return [];
  if (!Array.isArray(v)) {
    add(out, field, v, `must be a list, not ${typeName(v)}`);
    return [];
  }
  return v;
}

/** A map field (absent: undefined). */
export function map(out: Problems, v: unknown, field: string): Record<string, unknown> | undefined {
  if (absent(v)) return undefined;
  if (!isObj(v)) {
    add(out, field, v, `must be a map, not ${typeName(v)}`);
    return undefined;
  }
  return v;
}

/** A list element that must be a map: unlike a field, it may not be null. */
export function item(out: Problems, v: unknown, field: string): Record<string, unknown> | undefined {
  if (absent(v)) {
    add(out, field, v, `must be a map, not ${v === null ? 'null' : 'undefined'}`);
    return undefined;
  }
  return map(out, v, field);
}

/** A string field (absent: undefined). */
export function str(out: Problems, v: unknown, field: string): string | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'string') {
    add(out, field, v, `must be a string, not ${typeName(v)}`);
    return undefined;
  }
  return v;
}

/** A boolean field (absent: undefined). */
export function bool(out: Problems, v: unknown, field: string): boolean | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'boolean') {
    add(out, field, v, 'must be true or false');
    return undefined;
  }
  return v;
}

/** An integer field within [min, max] (absent: undefined). Strings, fractions, NaN and out-of-range numbers are problems. */
export function int(out: Problems, v: unknown, field: string, min: number, max: number): number | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    add(out, field, v, `must be an integer between ${min} and ${max}${typeof v === 'number' ? '' : `, not ${typeName(v)}`}`);
    return undefined;
  }
  return v;
}

/** A string field that must be one of `allowed` (absent: undefined). */
export function oneOf<T extends string>(out: Problems, v: unknown, field: string, allowed: readonly T[]): T | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    add(out, field, v, `must be one of ${allowed.join(', ')}`);
    return undefined;
  }
  return v as T;
}

/** A list of strings; returns the strings found. */
export function strings(out: Problems, v: unknown, field: string): string[] {
  const found: string[] = [];
  list(out, v, field).forEach((x, i) => {
    if (typeof x === 'string') found.push(x);
    else add(out, `${field}[${i}]`, x, `must be a string, not ${typeName(x)}`);
  });
  return found;
}

/** Reports a problem (for checks a kind does itself). */
export function problem(out: Problems, field: string, value: unknown, message: string): void {
  add(out, field, value, message);
}

// ---- names and labels (apimachinery syntax) ----------------------------------------------------

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);
export const isDns1035Label = (s: string): boolean => s.length <= 63 && DNS_1035_LABEL.test(s);

/** Why `key` is not a qualified name (`[prefix/]name`), or undefined when it is. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || !isDnsSubdomain(prefix)) return 'prefix must be a DNS-1123 subdomain';
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return 'name part must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return undefined;
}

/** Why `value` is not a label value, or undefined when it is. */
export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, not ${typeName(value)}`;
  if (value.length > 63 || (value.length > 0 && !QUALIFIED_NAME_PART.test(value))) {
    return 'must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return undefined;
}

/** A label map: valid keys to valid string values. */
export function labels(out: Problems, v: unknown, field: string): void {
  const m = map(out, v, field);
  if (!m) return;
  for (const k of Object.keys(m)) {
    const kp = qualifiedNameProblem(k);
    if (kp) add(out, field, k, `invalid label key: ${kp}`);
    const vp = labelValueProblem(m[k]);
    if (vp) add(out, `${field}.${k}`, m[k], `invalid label value: ${vp}`);
  }
}

/** An annotation map: valid keys to string values. */
export function annotations(out: Problems, v: unknown, field: string): void {
  const m = map(out, v, field);
  if (!m) return;
  for (const k of Object.keys(m)) {
    const kp = qualifiedNameProblem(k);
    if (kp) add(out, field, k, `invalid annotation key: ${kp}`);
    if (typeof m[k] !== 'string') add(out, `${field}.${k}`, m[k], `must be a string, not ${typeName(m[k])}`);
  }
}

/** Name syntax of a kind: DNS-1123 subdomain (most kinds), DNS-1123 label, or DNS-1035 label (Services). */
export type NameSyntax = 'subdomain' | 'label' | 'dns1035';

const NAME_RULE: Record<NameSyntax, { readonly test: (s: string) => boolean; readonly text: string }> = {
  subdomain: { test: isDnsSubdomain, text: 'must be a DNS-1123 subdomain (at most 253 lower-case alphanumerics, "-" and ".")' },
  label: { test: isDnsLabel, text: 'must be a DNS-1123 label (at most 63 lower-case alphanumerics or "-")' },
  dns1035: { test: isDns1035Label, text: 'must be a DNS-1035 label (at most 63 lower-case alphanumerics or "-", starting with a letter)' },
};

/** `metadata`: a map with a name of the given syntax, a namespace (when given) that is a DNS label, labels, annotations, a string uid, a list of finalizers. */
export function metadata(out: Problems, v: unknown, name: NameSyntax): void {
  if (!isObj(v)) {
    add(out, 'metadata', v, `must be a map, not ${typeName(v)}`);
    return;
  }
  const n = v['name'];
  if (typeof n !== 'string' || n === '') add(out, 'metadata.name', n ?? '', 'must be a non-empty string');
  else if (!NAME_RULE[name].test(n)) add(out, 'metadata.name', n, NAME_RULE[name].text);
  const ns = v['namespace'];
  if (!absent(ns) && (typeof ns !== 'string' || !isDnsLabel(ns))) add(out, 'metadata.namespace', ns, 'must be a DNS-1123 label');
  str(out, v['uid'], 'metadata.uid');
  str(out, v['resourceVersion'], 'metadata.resourceVersion');
  str(out, v['deletionTimestamp'], 'metadata.deletionTimestamp');
  int(out, v['generation'], 'metadata.generation', 0, Number.MAX_SAFE_INTEGER);
  labels(out, v['labels'], 'metadata.labels');
  annotations(out, v['annotations'], 'metadata.annotations');
  strings(out, v['finalizers'], 'metadata.finalizers');
}

/** `namespace/name` (or `name`) of an object for problem lines, from whatever its metadata holds. */
export function objectName(obj: unknown): { readonly namespace?: string; readonly name: string } {
  const m = isObj(obj) && isObj(obj['metadata']) ? obj['metadata'] : {};
  const name = typeof m['name'] === 'string' ? m['name'] : '';
  return typeof m['namespace'] === 'string' ? { namespace: m['namespace'], name } : { name };
}

// ---- CustomResourceDefinition structural schemas -------------------------------------------------

/** The subset of an `openAPIV3Schema` (structural schema) the API server checks that Portico's CRDs use. */
export interface StructuralSchema {
  readonly type?: 'object' | 'array' | 'string' | 'boolean' | 'integer' | 'number';
  readonly format?: string;
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly additionalProperties?: StructuralSchema;
  readonly items?: StructuralSchema;
  readonly enum?: readonly unknown[];
  readonly required?: readonly string[];
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const INT32 = 2 ** 31;

/**
 * Checks `v` against a structural schema as the API server does for a custom resource: types (with
 * `x-kubernetes-int-or-string`), enums, required fields, integer formats; recursing into properties,
 * additionalProperties and items. Fields the schema does not know are not problems (the API server
 * prunes them); under `x-kubernetes-preserve-unknown-fields` anything goes.
 */
export function schemaProblems(out: Problems, v: unknown, schema: StructuralSchema, field: string): void {
  if (absent(v)) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof v === 'string') return;
    if (typeof v !== 'number' || !Number.isInteger(v)) add(out, field, v, `must be an integer or a string, not ${typeName(v)}`);
    return;
  }
  switch (schema.type) {
    case 'object': {
      const m = map(out, v, field);
      if (!m) return;
      for (const r of schema.required ?? []) if (absent(m[r])) add(out, `${field}.${r}`, '', 'required');
      for (const k of Object.keys(m)) {
        const sub = schema.properties?.[k] ?? schema.additionalProperties;
        if (sub) schemaProblems(out, m[k], sub, field === '' ? k : `${field}.${k}`);
      }
      return;
    }
    case 'array': {
      const items = list(out, v, field);
      if (schema.items) items.forEach((x, i) => (absent(x) ? add(out, `${field}[${i}]`, x, `must not be ${String(x)}`) : schemaProblems(out, x, schema.items!, `${field}[${i}]`)));
      return;
    }
    case 'string':
      if (typeof v !== 'string') add(out, field, v, `must be a string, not ${typeName(v)}`);
      else if (schema.format === 'date-time' && Number.isNaN(Date.parse(v))) add(out, field, v, 'must be an RFC 3339 date-time');
      break;
    case 'boolean':
      if (typeof v !== 'boolean') add(out, field, v, `must be true or false, not ${typeName(v)}`);
      break;
    case 'integer': {
      const limit = schema.format === 'int32' ? INT32 : Number.MAX_SAFE_INTEGER;
      if (typeof v !== 'number' || !Number.isInteger(v)) add(out, field, v, `must be an integer, not ${typeof v === 'number' ? 'a fraction' : typeName(v)}`);
      else if (v < -limit || v >= limit) add(out, field, v, `must fit in ${schema.format ?? 'a safe integer'}`);
      break;
    }
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) add(out, field, v, `must be a number, not ${typeName(v)}`);
      break;
    default:
      if (schema['x-kubernetes-preserve-unknown-fields']) return;
  }
  if (schema.enum && !schema.enum.includes(v)) add(out, field, v, `must be one of ${schema.enum.map((e) => String(e)).join(', ')}`);
}
