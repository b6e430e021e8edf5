import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { buildHealthServer, type Readiness } from './server.ts';
import { createRegistry, metricName, Counter } from './metrics.ts';
import { handleShutdown } from './shutdown.ts';
import { createLogger } from './logger.ts';

test('health server: /healthz, /readyz follows readiness, /metrics has portico_ metrics', async () => {
  const registry = createRegistry('demo', '1.2.3');
  const c = new Counter({ name: metricName('portico_demo_things_total'), help: 'things', registers: [registry] });
  c.inc(3);
  let readiness: Readiness = { ready: false, reason: 'caches not synced' };
  const app = buildHealthServer({ registry, readiness: () => readiness });
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  const notReady = await app.inject({ url: '/readyz' });
  assert.equal(notReady.statusCode, 503);
  assert.match(notReady.body, /caches not synced/);
  readiness = { ready: true };
  assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  const metrics = await app.inject({ url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, /^portico_demo_things_total 3$/m);
  assert.match(metrics.body, /^portico_build_info\{component="demo",version="1.2.3"\} 1$/m);
  assert.match(metrics.body, /^portico_process_resident_memory_bytes /m);
  await app.close();
});

test('health server: a throwing liveness check is unhealthy', async () => {
  const app = buildHealthServer({ registry: createRegistry('demo', '0'), readiness: () => ({ ready: true }), liveness: () => { throw new Error('boom'); } });
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 500);
  await app.close();
});

test('metricName refuses names without the portico_ prefix', () => {
  assert.throws(() => metricName('reconcile_total'), /lacks the portico_ prefix/);
});

function silentLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  return { log: createLogger({ app: 'demo', destination }), lines };
}

test('shutdown: SIGTERM runs closers once in reverse order, then exits 0', async () => {
  const handlers = new Map<string, () => void>();
  const exits: number[] = [];
  const order: string[] = [];
  const { log, lines } = silentLogger();
  const s = handleShutdown({ log, proc: { once: ((sig: string, h: () => void) => handlers.set(sig, h)) as never, exit: ((code: number) => void exits.push(code)) as never } });
  s.add(() => void order.push('server'));
  s.add(async () => void order.push('watch'));
  handlers.get('SIGTERM')!();
  handlers.get('SIGINT')!();
  await s.shutdown('again');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['watch', 'server']);
  assert.deepEqual(exits, [0, 0]);
  assert.ok(lines.some((l) => l['event'] === 'shutdown' && l['signal'] === 'SIGTERM'));
});

test('shutdown: a failing closer is logged, the rest still run, exit code 1', async () => {
  const { log, lines } = silentLogger();
  const order: string[] = [];
  const s = handleShutdown({ log, proc: { once: (() => undefined) as never, exit: (() => undefined) as never } });
  s.add(() => void order.push('first'));
  s.add(() => { throw new Error('cannot close'); });
  assert.equal(await s.shutdown('SIGTERM'), 1);
  assert.deepEqual(order, ['first']);
  assert.ok(lines.some((l) => l['op'] === 'shutdown' && (l['err'] as { message: string }).message === 'cannot close'));
});

test('shutdown: gives up after the timeout with exit code 1', async () => {
  const { log } = silentLogger();
  const s = handleShutdown({ log, timeoutMs: 20, proc: { once: (() => undefined) as never, exit: (() => undefined) as never } });
  s.add(() => new Promise(() => undefined));
  assert.equal(await s.shutdown('SIGTERM'), 1);
});
