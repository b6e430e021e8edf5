import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from '@jest/globals';
import { loadSnapshot, parseSnapshot, SnapshotError } from './snapshot.ts';
import type { KubeObject } from './types.ts';

const data = (f: string): string => resolve(import.meta.dirname, '../testdata/snapshot', f);
const names = (objs: readonly KubeObject[] | undefined): string[] => (objs ?? []).map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);

describe('loadSnapshot', () => {
  it('reads a kubectl List, a multi-document stream and an API list (JSON) into objects grouped by kind', async () => {
    const snap = await loadSnapshot([data('kubectl-list.yaml'), data('multi.yaml'), data('api-list.json')]);
    assert.deepEqual(Object.keys(snap.byKind).sort(), ['NetworkPolicy', 'Node', 'Service']);
    assert.deepEqual(names(snap.byKind['Service']), ['default/web', 'kube-system/dns']);
    assert.deepEqual(names(snap.byKind['Node']), ['/node-1', '/node-2', '/node-3']);
    assert.deepEqual(names(snap.byKind['NetworkPolicy']), ['default/deny-all']);
    assert.equal(snap.objects.length, 6);
    // Items of a typed list get apiVersion and kind from the list.
    const n2 = snap.byKind['Node']![1]!;
    assert.equal(n2.apiVersion, 'v1');
    assert.equal(n2.kind, 'Node');
  });

  it('JSON takes a fast path with the same result as the YAML parser, and is linear at 20,000 objects', () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: `ns-${i % 7}`, name: `p-${i}`, labels: { a: 'b' } }, status: { podIP: `10.0.${i >> 8}.${i & 255}` } }));
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    const t0 = performance.now();
    const fast = parseSnapshot([{ name: 'big.json', text }]);
    const fastMs = performance.now() - t0;
    assert.equal(fast.objects.length, 20_000);
    // A leading comment makes the same text YAML-only.
    const small = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.slice(0, 300) });
    assert.deepEqual(parseSnapshot([{ name: 's.json', text: small }]), parseSnapshot([{ name: 's.yaml', text: `# yaml\n${small}` }]));
    assert.ok(fastMs < 5000, `20,000 JSON objects took ${Math.round(fastMs)} ms`);
    // Malformed JSON still gets the YAML parser's located error.
    assert.throws(() => parseSnapshot([{ name: 'bad.json', text: '{"kind": "List", "items": [' }]), (e: SnapshotError) => /bad\.json: document 1: invalid YAML\/JSON/.test(e.problems[0]!));
  });

  it('reads - from stdin', async () => {
    const stdin = Readable.from([Buffer.from('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n')]);
    const snap = await loadSnapshot(['-'], { stdin });
    assert.deepEqual(names(snap.byKind['Namespace']), ['/a']);
  });

  it('names the file and document of every problem, and returns nothing on bad input', async () => {
    const err = await loadSnapshot([data('bad.yaml')]).then(
      () => assert.fail('expected SnapshotError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SnapshotError);
    const p = data('bad.yaml');
    assert.equal(err.problems.length, 4);
    assert.equal(err.problems[0], `${p}: document 2: apiVersion is missing, metadata.name is missing`);
    assert.equal(err.problems[1], `${p}: document 3: expected a Kubernetes object (a mapping), got a sequence`);
    assert.equal(err.problems[2], `${p}: document 4, items[0]: metadata.name is missing`);
    assert.match(err.problems[3]!, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: document 5: invalid YAML/JSON: `));
  });

  it('reports unreadable files and rejects stdin twice or no file', async () => {
    await assert.rejects(loadSnapshot([data('nope.yaml')]), (e: unknown) => e instanceof SnapshotError && /nope\.yaml: cannot read: no such file/.test(e.message));
    await assert.rejects(loadSnapshot([resolve(import.meta.dirname)]), /cannot read: is a directory/);
    await assert.rejects(loadSnapshot(['-', '-']), /given more than once/);
    await assert.rejects(loadSnapshot([]), /no file given/);
  });

  it('keeps identical duplicates once and rejects conflicting copies of an object', () => {
    const a = 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: d}\nspec: {type: ClusterIP}\n';
    const b = 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: d}\nspec: {type: LoadBalancer}\n';
    assert.equal(parseSnapshot([{ name: 'x', text: a }, { name: 'y', text: a }]).objects.length, 1);
    assert.throws(() => parseSnapshot([{ name: 'x', text: a }, { name: 'y', text: b }]), /y: document 1: Service d\/s differs from the copy in x: document 1/);
  });

  it('treats an empty input and `items: null` as no objects', () => {
    assert.equal(parseSnapshot([{ name: 'e', text: '' }]).objects.length, 0);
    assert.equal(parseSnapshot([{ name: 'e', text: 'apiVersion: v1\nkind: List\nitems: null\n' }]).objects.length, 0);
  });

  it('does not load @kubernetes/client-node when libs/kube is imported (render and pure tests stay light)', () => {
    // A child process records every module resolution; importing the index must not touch
    // client-node, and building a client must (the positive control proves the probe works).
    const index = resolve(import.meta.dirname, 'index.ts');
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
      const kube = await import(${JSON.stringify(index)});
      await kube.parseSnapshot([{ name: 'x', text: 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: a}\\n' }]);
      const before = seen.filter((u) => u.includes('/@kubernetes/client-node/')).length;
      await kube.createKubeClient({ explicit: { server: 'https://127.0.0.1:1' } });
      const after = seen.filter((u) => u.includes('/@kubernetes/client-node/')).length;
      console.log(JSON.stringify({ before, after }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: number; after: number };
    assert.equal(out.before, 0, 'importing @portico/kube loaded client-node');
    assert.ok(out.after > 0, 'positive control: createKubeClient loads client-node');
  });
});
