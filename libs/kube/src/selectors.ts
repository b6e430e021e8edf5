// String label and field selectors (the `labelSelector=` / `fieldSelector=` query forms), parsed
// and matched the way the API server does. FakeKube uses them; so can tests.

import type { KubeObject } from './types.ts';

/** One requirement of a label selector. */
export type LabelRequirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: '=' | '!='; readonly values: readonly [string] }
  | { readonly key: string; readonly op: 'exists' | '!' };

/**
 * Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` (`==` is `=`). Throws with the offending part on
 * bad syntax. An empty string selects everything.
 */
export function parseLabelSelector(sel: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  const parts = splitTopLevel(sel);
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') continue;
    let m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (m) {
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values });
      continue;
    }
    m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(part);
    if (m) {
      out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
      continue;
    }
    m = /^!\s*([^\s!=(),]+)$/.exec(part);
    if (m) {
      out.push({ key: m[1]!, op: '!' });
      continue;
    }
    m = /^([^\s!=(),]+)$/.exec(part);
    if (m) {
      out.push({ key: m[1]!, op: 'exists' });
      continue;
    }
    throw new Error(`invalid label selector part: ${JSON.stringify(part)}`);
  }
  return out;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** True when `labels` satisfy every requirement. */
export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
    }
  });
}

/** One field selector term: `path=value` / `path!=value`. */
export interface FieldRequirement {
  readonly path: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/** Parses `metadata.name=x,spec.nodeName!=y`. */
export function parseFieldSelector(sel: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const raw of sel.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new Error(`invalid field selector part: ${JSON.stringify(part)}`);
    out.push({ path: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() });
  }
  return out;
}

/** True when `obj` satisfies every field requirement (missing fields compare as ''). */
export function matchesFields(reqs: readonly FieldRequirement[], obj: KubeObject): boolean {
  return reqs.every((r) => {
    let cur: unknown = obj;
    for (const seg of r.path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    const v = cur === undefined || cur === null ? '' : String(cur);
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
