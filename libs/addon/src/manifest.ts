// Parsing a manifest file into objects (wrangler's yaml.ToObjects rules, spec §3.3, §7.8, §7.9).

import { parseAllDocuments } from 'yaml';
import { AddonReason } from './constants.ts';
import { gvkOf, type GVK } from './names.ts';
import { crdKindOf, validateCustomResource } from './validate.ts';

/** An object of a manifest, as plain JSON. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ManifestProblem {
  /** `ParseManifestFailed` or `ValidateManifestFailed`. */
  readonly reason: string;
  /** 1-based document number in the file. */
  readonly document: number;
  readonly message: string;
}

export type ParseResult = { readonly ok: true; readonly objects: ManifestObject[] } | { readonly ok: false; readonly problems: ManifestProblem[] };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses YAML (multi-document) or JSON text. Empty documents are dropped; `kind: List` (and any
 * `*List` with `items`) is flattened. Any problem fails the whole file: nothing of it is applied.
 */
export function parseManifest(text: string): ParseResult {
  const problems: ManifestProblem[] = [];
  const objects: ManifestObject[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const n = i + 1;
    if (doc.errors.length > 0) {
      problems.push({ reason: AddonReason.parseFailed, document: n, message: doc.errors[0]!.message.split('\n')[0]! });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    collect(value, n, objects, problems);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, objects };
}

function collect(value: unknown, n: number, objects: ManifestObject[], problems: ManifestProblem[]): void {
  if (!isRecord(value)) {
    problems.push({ reason: AddonReason.parseFailed, document: n, message: `document is a ${Array.isArray(value) ? 'list' : typeof value}, not an object` });
    return;
  }
  const kind = value['kind'];
  const apiVersion = value['apiVersion'];
  if (typeof kind !== 'string' || kind === '') {
    problems.push({ reason: AddonReason.parseFailed, document: n, message: "Object 'Kind' is missing" });
    return;
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    problems.push({ reason: AddonReason.parseFailed, document: n, message: `${kind}: 'apiVersion' is missing` });
    return;
  }
  if (kind.endsWith('List') && Array.isArray(value['items'])) {
    for (const item of value['items'] as unknown[]) collect(item, n, objects, problems);
    return;
  }
  const meta = value['metadata'];
  if (meta !== undefined && !isRecord(meta)) {
    problems.push({ reason: AddonReason.validateFailed, document: n, message: `${kind}: metadata is not an object` });
    return;
  }
  const name = isRecord(meta) ? meta['name'] : undefined;
  if (typeof name !== 'string' || name === '') {
    problems.push({ reason: AddonReason.validateFailed, document: n, message: `${apiVersion} ${kind}: metadata.name is missing` });
    return;
  }
  // Addon-manager's own custom resources are validated as the API server would (validate.ts): a file
  // with an invalid one is refused whole, like any other invalid document.
  const crd = crdKindOf(value);
  if (crd) {
    for (const p of validateCustomResource(crd, value)) {
      problems.push({ reason: AddonReason.validateFailed, document: n, message: `${kind} ${name}: ${p.field === '' ? '' : `${p.field}: `}${JSON.stringify(p.value)}: ${p.message}` });
    }
  }
  objects.push({ ...(value as ManifestObject), metadata: { ...(meta as ManifestObject['metadata']) } });
}

/** The GVKs of the objects, in order of first appearance. */
export function gvksOf(objects: readonly ManifestObject[]): GVK[] {
  const seen = new Map<string, GVK>();
  for (const o of objects) {
    const key = `${o.apiVersion}|${o.kind}`;
    if (!seen.has(key)) seen.set(key, gvkOf(o.apiVersion, o.kind));
  }
  return [...seen.values()];
}
