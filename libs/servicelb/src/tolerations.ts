import { parse as parseYaml } from 'yaml';
import { Kube } from '@portico/labels';
import type { Problem } from './api.ts';
import type { Taint, Toleration } from './types.ts';
import { isLabelValue, isQualifiedName } from './validation.ts';

/** Tolerations every svclb pod carries first, in this order (K3s `newDaemonSet`). */
export const DEFAULT_TOLERATIONS: readonly Toleration[] = Object.freeze([
  Object.freeze({ effect: 'NoSchedule', key: Kube.controlPlaneRoleLabel, operator: 'Exists' }),
  Object.freeze({ key: Kube.criticalAddonsOnlyTaint, operator: 'Exists' }),
]);

/**
 * Tolerations the DaemonSet controller adds to every daemon pod at creation (not in the template).
 * Needed to predict where pods can run. `network-unavailable` is added only for hostNetwork pods,
 * which svclb pods are not.
 */
export const DAEMONSET_AUTO_TOLERATIONS: readonly Toleration[] = Object.freeze([
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
]);

const EFFECTS = new Set(['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute']);

export type TolerationsResult =
  | { readonly ok: true; readonly tolerations: readonly Toleration[] }
  | { readonly ok: false; readonly problem: Problem };

/**
 * Parses the tolerations annotation (K3s `getTolerations` + `validateToleration`, §5.9).
 *
 * `value === undefined` (key absent) gives no tolerations. Otherwise the value is parsed as a JSON
 * list, and if that fails as a YAML list; both failing gives K3s's message
 * `failed to parse tolerations from annotation <key>: <err>`. An empty or `null` document is an empty
 * list (as in Go). An empty operator becomes `Equal`. K3s's two checks keep their messages:
 * `validation failed for toleration <i>: toleration with empty key must have operator 'Exists'` and
 * `... toleration with operator 'Exists' must have an empty value`.
 *
 * Portico fix: K3s passes anything else through and the API server then rejects the DaemonSet with a
 * generic apply error. Portico applies the API server's remaining toleration rules here too (operator
 * `Exists`/`Equal`, known effect, qualified key, label-syntax value, `tolerationSeconds` only with
 * `NoExecute`, field types), so the user gets an Event naming the annotation instead.
 */
export function parseTolerationsAnnotation(annotationKey: string, value: string | undefined): TolerationsResult {
  if (value === undefined) return { ok: true, tolerations: [] };
  const field = `annotation ${annotationKey}`;
  const fail = (reason: string): TolerationsResult => ({ ok: false, problem: { field, value, reason } });

  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    try {
      doc = parseYaml(value, { prettyErrors: false });
    } catch (err) {
      return fail(`failed to parse tolerations from annotation ${annotationKey}: ${firstLine(err)}`);
    }
  }
  if (doc === null || doc === undefined) return { ok: true, tolerations: [] };
  if (!Array.isArray(doc)) {
    return fail(`failed to parse tolerations from annotation ${annotationKey}: expected a list of tolerations, got ${describe(doc)}`);
  }

  const out: Toleration[] = [];
  for (let i = 0; i < doc.length; i++) {
    const item: unknown = doc[i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return fail(`failed to parse tolerations from annotation ${annotationKey}: toleration ${i} is ${describe(item)}, not an object`);
    }
    const rec = item as Record<string, unknown>;
    for (const f of ['key', 'operator', 'value', 'effect'] as const) {
      if (rec[f] !== undefined && rec[f] !== null && typeof rec[f] !== 'string') {
        return fail(`failed to parse tolerations from annotation ${annotationKey}: toleration ${i} field ${f} must be a string, got ${describe(rec[f])}`);
      }
    }
    const seconds = rec['tolerationSeconds'];
    if (seconds !== undefined && seconds !== null && !(typeof seconds === 'number' && Number.isSafeInteger(seconds))) {
      return fail(`failed to parse tolerations from annotation ${annotationKey}: toleration ${i} field tolerationSeconds must be an integer, got ${describe(seconds)}`);
    }
    const key = (rec['key'] as string | null | undefined) ?? '';
    const operator = ((rec['operator'] as string | null | undefined) ?? '') || 'Equal';
    const tvalue = (rec['value'] as string | null | undefined) ?? '';
    const effect = (rec['effect'] as string | null | undefined) ?? '';
    const invalid = (msg: string): TolerationsResult => fail(`validation failed for toleration ${i}: ${msg}`);
    // K3s's two checks, first and with its wording.
    if (key === '' && operator !== 'Exists') return invalid("toleration with empty key must have operator 'Exists'");
    if (operator === 'Exists' && tvalue !== '') return invalid("toleration with operator 'Exists' must have an empty value");
    // The API server's other rules (apis/core/validation ValidateTolerations).
    if (operator !== 'Exists' && operator !== 'Equal') return invalid(`unsupported operator ${JSON.stringify(operator)}: must be 'Exists' or 'Equal'`);
    if (key !== '' && !isQualifiedName(key)) return invalid(`key ${JSON.stringify(key)} is not a valid label key`);
    if (operator === 'Equal' && !isLabelValue(tvalue)) return invalid(`value ${JSON.stringify(tvalue)} is not a valid label value`);
    if (!EFFECTS.has(effect)) return invalid(`unsupported effect ${JSON.stringify(effect)}: must be empty, 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'`);
    const hasSeconds = typeof seconds === 'number';
    if (hasSeconds && effect !== 'NoExecute') return invalid("tolerationSeconds requires effect 'NoExecute'");

    // Canonical key order; empty strings omitted as the API server would print them.
    const ordered: Record<string, unknown> = {};
    if (effect !== '') ordered['effect'] = effect;
    if (key !== '') ordered['key'] = key;
    ordered['operator'] = operator;
    if (hasSeconds) ordered['tolerationSeconds'] = seconds;
    if (tvalue !== '') ordered['value'] = tvalue;
    out.push(ordered as Toleration);
  }
  return { ok: true, tolerations: out };
}

/** Whether one toleration tolerates one taint (core/v1 `Toleration.ToleratesTaint`). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const key = t.key ?? '';
  const operator = t.operator || 'Equal';
  if (key !== '' && key !== taint.key) return false;
  if (operator === 'Exists') return true;
  return key !== '' && (t.value ?? '') === (taint.value ?? '');
}

/**
 * The first taint that keeps a pod with `tolerations` off a node, or null. Only `NoSchedule` and
 * `NoExecute` taints repel; `PreferNoSchedule` does not.
 */
export function untoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[]): Taint | null {
  for (const taint of taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) return taint;
  }
  return null;
}

/** `key=value:Effect` (or `key:Effect`), as kubectl prints taints. */
export function formatTaint(taint: Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
