import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { FakeClock, flush } from '@portico/runner/testing';
import { FakeKube } from './testing/index.ts';
import { type ChangeEvent, ListWatch, stripManagedFields } from './list-watch.ts';
import { RecordingLogger } from './testing/index.ts';
import { Resources } from './resources.ts';
import type { KubeObject } from './types.ts';
import { NdjsonDecoder, type HttpTransport } from './transport.ts';
import { RestKubeClient } from './client.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function cm(namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, ...(labels ? { labels } : {}) }, data };
}

/** Records change events as `type:ns/name` strings. */
function recorder<T extends KubeObject>(lw: ListWatch<T>): { log: string[]; events: ChangeEvent<T>[] } {
  const log: string[] = [];
  const events: ChangeEvent<T>[] = [];
  lw.onChange((ev) => {
    events.push(ev);
    log.push(`${ev.type}:${ev.object.metadata?.namespace}/${ev.object.metadata?.name}${ev.type === 'delete' && ev.finalStateUnknown ? '(unknown)' : ''}`);
  });
  return { log, events };
}

/** Steps the fake clock in small increments until `cond` holds (fails after `maxMs` of fake time). */
async function until(clock: FakeClock, cond: () => boolean, what: string, maxMs = 120_000, stepMs = 50): Promise<void> {
  for (let t = 0; t <= maxMs; t += stepMs) {
    await flush();
    if (cond()) return;
    await clock.tick(stepMs);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function setup(opts: { pageSize?: number } = {}): { clock: FakeClock; fake: FakeKube; lw: ListWatch<ConfigMap>; logger: RecordingLogger } {
  const clock = new FakeClock();
  const fake = new FakeKube({ clock });
  const logger = new RecordingLogger();
  const lw = new ListWatch<ConfigMap>(fake.client, Resources.ConfigMap, { clock, random: () => 0.5, logger, pageSize: opts.pageSize });
  return { clock, fake, lw, logger };
}

describe('ListWatch', () => {
  it('lists every page, then reports the initial objects as adds and is synced', async () => {
    const { clock, fake, lw } = setup({ pageSize: 3 });
    for (let i = 0; i < 10; i++) fake.put(cm('a', `cm-${String(i).padStart(2, '0')}`));
    const { log } = recorder(lw);
    lw.start();
    await lw.waitForSync({ timeoutMs: 1000 });
    assert.equal(lw.size, 10);
    assert.equal(lw.stats.pages, 4, '10 objects in pages of 3 = 4 LIST requests');
    assert.equal(fake.listRequests, 4);
    assert.equal(log.length, 10);
    assert.ok(log.every((l) => l.startsWith('add:a/')));
    assert.equal(lw.hasSynced(), true);
    assert.equal(lw.resourceVersion, fake.resourceVersion);
    // every LIST carried the page size; the watch started from the list's resourceVersion with bookmarks
    const lists = fake.requests.filter((r) => r.method === 'GET' && r.query['watch'] === undefined);
    assert.ok(lists.every((r) => r.query['limit'] === '3'));
    await until(clock, () => fake.openWatches === 1, 'the watch');
    const watch = fake.requests.find((r) => r.query['watch'] !== undefined)!;
    assert.equal(watch.query['allowWatchBookmarks'], 'true');
    assert.equal(watch.query['resourceVersion'], lw.resourceVersion);
    // timeoutSeconds = 300 × (1 + random) with random() = 0.5
    assert.equal(watch.query['timeoutSeconds'], '450');
    await lw.stop();
    assert.equal(fake.openWatches, 0, 'stop() closes the watch');
  });

  it('delivers add, update and delete with the old object, and keeps get/list current', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'one', { v: '1' }));
    const { events } = recorder(lw);
    lw.start();
    await lw.waitForSync();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    fake.put(cm('a', 'one', { v: '2' }));
    fake.put(cm('b', 'two'));
    fake.remove(Resources.ConfigMap, { namespace: 'a', name: 'one' });
    await until(clock, () => events.length === 4, 'four events');
    const [, upd, add, del] = events;
    assert.equal(upd!.type, 'update');
    assert.equal(upd!.type === 'update' && upd!.old.data?.['v'], '1');
    assert.equal(upd!.object.data?.['v'], '2');
    assert.equal(add!.type, 'add');
    assert.equal(del!.type, 'delete');
    assert.equal(del!.type === 'delete' && del!.finalStateUnknown, false);
    assert.equal(lw.get('a', 'one'), undefined);
    assert.equal(lw.get('b', 'two')?.metadata?.name, 'two');
    assert.deepEqual(
      lw.list().map((o) => o.metadata?.name),
      ['two'],
    );
    assert.deepEqual(lw.list('a'), []);
    await lw.stop();
  });

  it('resumes from the last resourceVersion after a clean watch end, without relisting', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'x'));
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    fake.put(cm('a', 'y'));
    await until(clock, () => log.length === 2, 'add y');
    const rv = lw.resourceVersion;
    fake.dropWatches(); // like an API server restart or the server-side timeout
    fake.put(cm('a', 'z')); // happens while no watch is open
    await until(clock, () => log.length === 3, 'add z after reconnect');
    assert.equal(lw.stats.lists, 1, 'no relist');
    assert.equal(lw.stats.watchRestarts.closed, 1);
    const second = fake.requests.filter((r) => r.query['watch'] !== undefined)[1]!;
    assert.equal(second.query['resourceVersion'], rv);
    await lw.stop();
  });

  it('advances the resourceVersion on bookmarks', async () => {
    const { clock, fake, lw } = setup();
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    const before = lw.resourceVersion;
    fake.put({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'a', name: 's' } }); // another resource moves the RV
    fake.bookmark();
    await until(clock, () => lw.stats.bookmarks === 1, 'a bookmark');
    assert.notEqual(lw.resourceVersion, before);
    assert.equal(lw.resourceVersion, fake.resourceVersion);
    assert.equal(lw.stats.events, 0, 'a bookmark is not a change');
    await lw.stop();
  });

  it('relists on an in-stream 410 and reports a delete that happened while disconnected', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'keep', { v: '1' }), cm('a', 'gone'), cm('a', 'same'));
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    log.length = 0;
    // Disconnect with a transport error, change things, then compact history before the reconnect.
    fake.failNext({ watch: true, status: 500, times: 1 });
    fake.breakWatches();
    fake.remove(Resources.ConfigMap, { namespace: 'a', name: 'gone' });
    fake.put(cm('a', 'keep', { v: '2' }), cm('a', 'new'));
    fake.compact();
    await until(clock, () => lw.stats.relists === 1 && log.length === 3, 'the relist');
    assert.deepEqual(log, ['delete:a/gone(unknown)', 'update:a/keep', 'add:a/new']);
    assert.deepEqual(lw.keys(), ['a/keep', 'a/new', 'a/same']);
    assert.equal(lw.get('a', 'keep')?.data?.['v'], '2');
    assert.ok(lw.stats.watchRestarts.gone >= 1, 'the 410 counted as a gone restart');
    await lw.stop();
  });

  it('relists on an HTTP 410 answer to the watch request', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'x'));
    const { log } = recorder(lw);
    lw.start();
    await lw.waitForSync();
    fake.failNext({ watch: true, status: 410, reason: 'Gone' });
    fake.dropWatches();
    await until(clock, () => lw.stats.relists === 1, 'relist');
    assert.deepEqual(log, ['add:a/x'], 'nothing changed, so the relist emits nothing');
    await until(clock, () => fake.openWatches === 1, 'watch again');
    await lw.stop();
  });

  it('backs off when every watch after a relist is answered with 410 (no relist storm)', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'x'));
    fake.failNext({ watch: true, status: 410, reason: 'Gone', times: 10_000 });
    lw.start();
    await clock.tick(10_000);
    // Immediate relist once, then backoff (1.2 s, 2.4 s, 4.8 s with random() = 0.5): at most 5 LISTs in 10 s.
    assert.ok(lw.stats.lists >= 3 && lw.stats.lists <= 5, `LISTs in 10 s: ${lw.stats.lists}`);
    await lw.stop();
  });

  it('restarts the list from scratch when the continue token expires mid-list', async () => {
    const { clock, fake, lw, logger } = setup({ pageSize: 2 });
    for (let i = 0; i < 5; i++) fake.put(cm('a', `c${i}`));
    // Compact right after the first page is served.
    let compacted = false;
    const client = fake.client;
    const origList = client.list.bind(client);
    client.list = async (res, opts) => {
      const page = await origList(res, opts);
      if (!compacted) {
        compacted = true;
        fake.put(cm('a', 'c9'));
        fake.compact();
      }
      return page as never;
    };
    lw.start();
    await until(clock, () => lw.hasSynced(), 'sync');
    assert.equal(lw.size, 6);
    assert.ok(logger.records.some((r) => (r.obj as { event?: string }).event === 'listContinueExpired'));
    await lw.stop();
  });

  it('never gives up: retries failing LISTs with capped, jittered exponential backoff', async () => {
    const { clock, fake, lw, logger } = setup();
    fake.put(cm('a', 'x'));
    fake.failNext({ method: 'GET', watch: false, status: 503, times: 6 });
    const started = clock.now();
    lw.start();
    await until(clock, () => lw.hasSynced(), 'sync after failures', 600_000, 100);
    // backoff with random()=0.5 and jitter 1: 1200, 2400, 4800, 9600, 19200, 38400 (base capped at 30000 → 45000)
    const waits = logger.records.filter((r) => (r.obj as { event?: string }).event === 'listFailed').map((r) => (r.obj as { retryInMs: number }).retryInMs);
    assert.deepEqual(waits, [1200, 2400, 4800, 9600, 19200, 38400]);
    assert.ok(clock.now() - started >= 1200 + 2400 + 4800 + 9600 + 19200 + 38400);
    await lw.stop();
  });

  it('restarts a watch that fails with any other error, after backoff, and loses nothing', async () => {
    const { clock, fake, lw } = setup();
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    fake.failNext({ watch: true, status: 500, times: 3 });
    fake.breakWatches();
    fake.put(cm('a', 'during-outage'));
    await until(clock, () => log.length === 1, 'the add after restarts', 300_000);
    assert.deepEqual(log, ['add:a/during-outage']);
    assert.equal(lw.stats.relists, 0, 'resumed from the resourceVersion, no relist');
    assert.ok(lw.stats.watchRestarts.error >= 3);
    await lw.stop();
  });

  it('reconnects when the watch is silent longer than the inactivity timeout', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const lw = new ListWatch<ConfigMap>(fake.client, Resources.ConfigMap, { clock, inactivityTimeoutMs: 10_000, random: () => 0 });
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    await clock.tick(9_000);
    assert.equal(lw.stats.watchRestarts.inactivity, 0);
    fake.bookmark(); // bytes reset the timer
    await clock.tick(9_000);
    assert.equal(lw.stats.watchRestarts.inactivity, 0);
    await clock.tick(2_000);
    await until(clock, () => lw.stats.watchRestarts.inactivity === 1 && fake.openWatches === 1, 'an inactivity reconnect');
    assert.equal(lw.stats.relists, 0);
    await lw.stop();
  });

  it('treats a watch that closes at once with nothing as a failure (no reconnect storm)', async () => {
    const { clock, fake, lw } = setup();
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    const before = fake.watchRequests;
    for (let i = 0; i < 5; i++) {
      fake.dropWatches();
      await clock.tick(10);
    }
    // With backoff, five instant closes cannot produce five immediate reconnects within 50 ms.
    assert.ok(fake.watchRequests - before <= 2, `too many watch requests: ${fake.watchRequests - before}`);
    await lw.stop();
  });

  it('scopes to a namespace and selectors, and treats objects leaving the selection as deletes', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    fake.put(cm('a', 'in', {}, { app: 'web' }), cm('a', 'other', {}, { app: 'db' }), cm('b', 'in', {}, { app: 'web' }));
    const lw = new ListWatch<ConfigMap>(fake.client, Resources.ConfigMap, { clock, namespace: 'a', labelSelector: 'app=web', fieldSelector: 'metadata.name!=skip' });
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    assert.deepEqual(lw.keys(), ['a/in']);
    fake.put(cm('a', 'in', {}, { app: 'db' })); // leaves the selection
    fake.put(cm('a', 'skip', {}, { app: 'web' })); // excluded by the field selector
    fake.put(cm('b', 'x', {}, { app: 'web' })); // other namespace
    fake.put(cm('a', 'late', {}, { app: 'web' }));
    await until(clock, () => log.length === 3, 'events');
    assert.deepEqual(log, ['add:a/in', 'delete:a/in', 'add:a/late']);
    const req = fake.requests[0]!;
    assert.equal(req.path, '/api/v1/namespaces/a/configmaps');
    assert.equal(req.query['labelSelector'], 'app=web');
    await lw.stop();
  });

  it('applies the transform before caching and fills in apiVersion/kind of list items', async () => {
    const { clock, fake } = setup();
    const lw = new ListWatch<ConfigMap>(fake.client, Resources.ConfigMap, { clock, transform: stripManagedFields });
    await fake.client.apply(cm('a', 'x', { k: 'v' }), { fieldManager: 'm' });
    lw.start();
    await lw.waitForSync();
    assert.ok(fake.get(Resources.ConfigMap, { namespace: 'a', name: 'x' })?.metadata?.managedFields, 'the server object has managedFields');
    const cached = lw.get('a', 'x')!;
    assert.equal(cached.metadata?.managedFields, undefined);
    assert.equal(cached.kind, 'ConfigMap');
    assert.equal(cached.apiVersion, 'v1');
    await lw.stop();
  });

  it('isolates a throwing handler: logged, cache and other handlers unaffected', async () => {
    const { clock, fake, lw, logger } = setup();
    lw.onChange(() => {
      throw new Error('boom');
    });
    const { log } = recorder(lw);
    fake.put(cm('a', 'x'));
    lw.start();
    await lw.waitForSync();
    fake.put(cm('a', 'y'));
    await until(clock, () => log.length === 2, 'both adds');
    assert.ok(logger.records.some((r) => r.level === 'error' && (r.obj as { event?: string }).event === 'handlerFailed'));
    await lw.stop();
  });

  it('can be started again after stop(): relists and reports what changed meanwhile', async () => {
    const { clock, fake, lw } = setup();
    fake.put(cm('a', 'x'), cm('a', 'y'));
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => fake.openWatches === 1, 'the watch');
    await lw.stop();
    fake.remove(Resources.ConfigMap, { namespace: 'a', name: 'x' });
    fake.put(cm('a', 'z'));
    log.length = 0;
    lw.start();
    await until(clock, () => log.length === 2, 'the diff');
    assert.deepEqual(log, ['delete:a/x(unknown)', 'add:a/z']);
    await lw.stop();
  });

  it('waitForSync times out naming the cache, and rejects when stopped first', async () => {
    const { clock, fake, lw } = setup();
    fake.failNext({ method: 'GET', watch: false, status: 503, times: 1000 });
    lw.start();
    const p = lw.waitForSync({ timeoutMs: 5_000 });
    const assertion = assert.rejects(p, /list-watch configmaps: not synced after 5000 ms/);
    await clock.tick(5_001);
    await assertion;
    const q = lw.waitForSync();
    await lw.stop();
    await assert.rejects(q, /stopped before it synced/);
  });

  it('decodes a watch stream cut at arbitrary byte boundaries, including inside UTF-8 and large objects', async () => {
    // A transport that replays a fixed byte stream in awkward chunks.
    const big = 'é'.repeat(300_000); // 600 kB of two-byte characters
    const events = [
      { type: 'ADDED', object: { metadata: { namespace: 'a', name: 'big', resourceVersion: '11' }, data: { big } } },
      { type: 'MODIFIED', object: { metadata: { namespace: 'a', name: 'big', resourceVersion: '12' }, data: { big: 'ü' } } },
    ];
    const bytes = Buffer.from(events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const clock = new FakeClock();
    let watched = false;
    const transport: HttpTransport = {
      server: 'test://',
      request: async (req) => {
        if (req.query?.['watch'] === undefined) {
          return { status: 200, headers: {}, body: (async function* () { yield Buffer.from(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [] })); })() };
        }
        if (watched) {
          // Later watches stay open and silent until aborted.
          const silent = async function* (): AsyncGenerator<Uint8Array> {
            yield await new Promise<Uint8Array>((_r, rej) => req.signal?.addEventListener('abort', () => rej(req.signal?.reason)));
          };
          return { status: 200, headers: {}, body: silent() };
        }
        watched = true;
        return {
          status: 200,
          headers: {},
          body: (async function* () {
            for (let i = 0; i < bytes.length; ) {
              const n = 1 + ((i * 7919) % 4093); // odd sizes, often splitting a 2-byte character
              yield bytes.subarray(i, i + n);
              i += n;
            }
          })(),
        };
      },
    };
    const lw = new ListWatch<ConfigMap>(new RestKubeClient(transport, { clock }), Resources.ConfigMap, { clock });
    const { log } = recorder(lw);
    lw.start();
    await until(clock, () => log.length === 2, 'both events', 10_000);
    assert.equal(lw.get('a', 'big')?.data?.['big'], 'ü');
    assert.equal(lw.resourceVersion, '12');
    await lw.stop();
  });
});

describe('NdjsonDecoder', () => {
  it('splits lines across chunks and keeps multi-byte characters whole', () => {
    const d = new NdjsonDecoder();
    const text = Buffer.from('{"a":"€"}\n\n{"b":2}\n{"c"');
    const out: string[] = [];
    for (let i = 0; i < text.length; i++) out.push(...d.push(text.subarray(i, i + 1)));
    assert.deepEqual(out, ['{"a":"€"}', '{"b":2}']);
    assert.deepEqual(d.push(Buffer.from(':3}\n')), ['{"c":3}']);
    assert.equal(d.end(), undefined);
    d.push(Buffer.from('{"tail":1}'));
    assert.equal(d.end(), '{"tail":1}');
  });

  it('rejects a line longer than the limit', () => {
    const d = new NdjsonDecoder(10);
    assert.throws(() => d.push(Buffer.from('x'.repeat(11))), /longer than 10 bytes/);
  });
});
