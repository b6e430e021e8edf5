// Snapshot loading for `render --snapshot FILE...` (DESIGN.md, shape of every component).
//
// This file must not import @kubernetes/client-node, directly or through another libs/kube file:
// `render` and pure tests load libs/kube's index for it, and client-node is only ever loaded lazily
// by bootstrap.ts. snapshot.test.ts checks this in a child process.
//
// Accepted input, per file (or `-` for stdin): YAML or JSON; one object, a multi-document YAML
// stream, a `kind: List` (what `kubectl get ... -o yaml` prints), or a typed list such as
// `ServiceList` (what the API returns; its items lack apiVersion/kind, which are filled in).

import { readFile } from 'node:fs/promises';
import { Composer, Parser } from 'yaml';
import type { KubeObject } from './types.ts';

/** One input text and the name used in error messages (a path, or `<stdin>`). */
export interface SnapshotSource {
  readonly name: string;
  readonly text: string;
}

/** Where an object came from: file, 1-based document number, list item index when from a List. */
export interface SnapshotOrigin {
  readonly source: string;
  readonly document: number;
  readonly item?: number;
}

/** The loaded objects: all of them in input order, and grouped by `kind`. */
export interface Snapshot {
  readonly objects: readonly KubeObject[];
  /** kind -> objects of that kind, in input order. */
  readonly byKind: Readonly<Record<string, readonly KubeObject[]>>;
}

/** Bad snapshot input; `problems` has one line per problem, each naming file and document. */
export class SnapshotError extends Error {
  readonly code = 'SNAPSHOT_INVALID';
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SnapshotError';
    this.problems = problems;
  }
}

function where(o: SnapshotOrigin): string {
  return `${o.source}: document ${o.document}${o.item !== undefined ? `, items[${o.item}]` : ''}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Pure: parses sources into a Snapshot, or throws SnapshotError listing every problem. */
export function parseSnapshot(sources: readonly SnapshotSource[]): Snapshot {
  const problems: string[] = [];
  const objects: KubeObject[] = [];
  const seen = new Map<string, { origin: SnapshotOrigin; obj: Record<string, unknown> }>(); // identity -> first occurrence

  const addObject = (raw: unknown, origin: SnapshotOrigin, defaults?: { apiVersion?: string; kind?: string }): void => {
    if (!isPlainObject(raw)) {
      problems.push(`${where(origin)}: expected a Kubernetes object (a mapping), got ${raw === null ? 'null' : Array.isArray(raw) ? 'a sequence' : typeof raw}`);
      return;
    }
    const obj = { ...raw } as Record<string, unknown>;
    if (obj['apiVersion'] === undefined && defaults?.apiVersion) obj['apiVersion'] = defaults.apiVersion;
    if (obj['kind'] === undefined && defaults?.kind) obj['kind'] = defaults.kind;
    // Lists (kubectl's `List`, API lists such as `ServiceList`, even nested) are flattened; they
    // carry no metadata.name.
    if (isList(obj)) {
      addList(obj, origin);
      return;
    }
    const apiVersion = obj['apiVersion'];
    const kind = obj['kind'];
    const meta = obj['metadata'];
    const bad: string[] = [];
    if (typeof apiVersion !== 'string' || apiVersion === '') bad.push('apiVersion is missing');
    if (typeof kind !== 'string' || kind === '') bad.push('kind is missing');
    if (!isPlainObject(meta) || typeof meta['name'] !== 'string' || meta['name'] === '') bad.push('metadata.name is missing');
    else if (meta['namespace'] !== undefined && typeof meta['namespace'] !== 'string') bad.push('metadata.namespace is not a string');
    if (bad.length > 0) {
      problems.push(`${where(origin)}: ${bad.join(', ')}`);
      return;
    }
    const m = meta as { name: string; namespace?: string };
    const identity = `${apiVersion}|${kind}|${m.namespace ?? ''}|${m.name}`;
    const prev = seen.get(identity);
    if (prev) {
      // Compared as JSON only on a repeated identity: keeping every object's JSON would double the memory of a large snapshot.
      if (JSON.stringify(prev.obj) !== JSON.stringify(obj)) problems.push(`${where(origin)}: ${kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name} differs from the copy in ${where(prev.origin)}`);
      return; // identical duplicates (the same object in two files) are kept once
    }
    seen.set(identity, { origin, obj });
    objects.push(obj as KubeObject);
  };

  const addList = (list: Record<string, unknown>, origin: SnapshotOrigin): void => {
    const items = list['items'];
    const kind = String(list['kind']);
    if (items === null || items === undefined) return; // `items: null` is an empty list
    if (!Array.isArray(items)) {
      problems.push(`${where(origin)}: ${kind}.items is not a sequence`);
      return;
    }
    // A typed list (ServiceList) implies the item kind; `List` does not.
    const defaults = kind !== 'List' ? { apiVersion: String(list['apiVersion']), kind: kind.slice(0, -'List'.length) } : undefined;
    items.forEach((item, i) => addObject(item, { ...origin, item: i }, defaults));
  };

  for (const src of sources) {
    // JSON (`kubectl get -o json`, the API's own lists) is parsed by JSON.parse: the YAML parser builds
    // a full document tree first, about 100 times the text in memory and 1.5 s per MB here, which a
    // snapshot of a large cluster cannot afford. Text that is not plain JSON (or that JSON.parse
    // refuses) goes through the YAML parser, which also gives the error messages.
    if (/^\s*[[{]/.test(src.text)) {
      let value: unknown;
      try {
        value = JSON.parse(src.text);
      } catch {
        value = undefined;
      }
      if (value !== undefined && value !== null) {
        addObject(value, { source: src.name, document: 1 });
        continue;
      }
    }
    // Documents are composed and converted one at a time, so only one document's tree is ever held
    // (parseAllDocuments would keep every tree of a large stream until the end).
    let i = 0;
    try {
      for (const doc of new Composer({ prettyErrors: false }).compose(new Parser().parse(src.text), true)) {
        const origin: SnapshotOrigin = { source: src.name, document: ++i };
        if (doc.errors.length > 0) {
          problems.push(`${where(origin)}: invalid YAML/JSON: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
          continue;
        }
        const value: unknown = doc.toJS({ maxAliasCount: 1000 });
        if (value === null || value === undefined) continue; // empty document (`---` at the end, comments only)
        addObject(value, origin);
      }
    } catch (err) {
      problems.push(`${src.name}: cannot parse: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new SnapshotError(problems);
  const byKind: Record<string, KubeObject[]> = {};
  for (const o of objects) (byKind[o.kind!] ??= []).push(o);
  return { objects, byKind };
}

function isList(obj: Record<string, unknown>): boolean {
  const kind = obj['kind'];
  return typeof kind === 'string' && (kind === 'List' || (kind.endsWith('List') && 'items' in obj));
}

/** Where loadSnapshot reads `-` from. */
export type StdinSource = AsyncIterable<Uint8Array | string>;

/**
 * Reads the given files (`-` = stdin, at most once) and parses them with parseSnapshot.
 * Throws SnapshotError (one line per problem) for unreadable files and bad content alike.
 */
export async function loadSnapshot(paths: readonly string[], opts: { stdin?: StdinSource } = {}): Promise<Snapshot> {
  const problems: string[] = [];
  const sources: SnapshotSource[] = [];
  if (paths.length === 0) throw new SnapshotError(['--snapshot: no file given (use - for stdin)']);
  if (paths.filter((p) => p === '-').length > 1) throw new SnapshotError(['--snapshot: - (stdin) given more than once']);
  for (const p of paths) {
    if (p === '-') {
      const stdin = opts.stdin ?? process.stdin;
      const chunks: Buffer[] = [];
      for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
      sources.push({ name: '<stdin>', text: Buffer.concat(chunks).toString('utf8') });
      continue;
    }
    try {
      sources.push({ name: p, text: await readFile(p, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${p}: cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new SnapshotError(problems);
  return parseSnapshot(sources);
}
