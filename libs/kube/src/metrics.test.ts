// STYLE rule 11: every metric name and error code libs/kube defines is documented in docs/kube.md,
// and the docs name nothing that does not exist.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { KubeErrorCodes } from './errors.ts';
import { createKubeMetrics, KUBE_METRIC_NAMES } from './metrics.ts';

const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/kube.md'), 'utf8');

describe('kube metrics and error codes', () => {
  it('registers exactly the listed metrics, all prefixed portico_', async () => {
    const registry = new Registry();
    const m = createKubeMetrics(registry);
    m.listWatch.list?.({ name: 'svc', reason: 'initial', pages: 2, items: 3, durationMs: 1500 });
    m.listWatch.watchRestart?.({ name: 'svc', reason: 'gone' });
    m.leader.leader?.({ lease: 'ns/l', identity: 'me', isLeader: true });
    const names = (await registry.getMetricsAsJSON()).map((x) => x.name).sort();
    assert.deepEqual(names, [...KUBE_METRIC_NAMES].sort());
    assert.ok(names.every((n) => n.startsWith('portico_')));
    const text = await registry.metrics();
    assert.match(text, /portico_kube_list_total\{cache="svc",reason="initial"\} 1/);
    assert.match(text, /portico_kube_watch_restarts_total\{cache="svc",reason="gone"\} 1/);
    assert.match(text, /portico_leader\{lease="ns\/l"\} 1/);
  });

  it('documents every metric and error code in docs/kube.md, and documents no other', () => {
    for (const n of KUBE_METRIC_NAMES) assert.ok(doc.includes(`\`${n}\``), `docs/kube.md does not document ${n}`);
    const documented = [...doc.matchAll(/`(portico_(?:kube|workqueue|leader)[a-z_]*)`/g)].map((m) => m[1]!);
    for (const n of documented) assert.ok((KUBE_METRIC_NAMES as readonly string[]).includes(n), `docs/kube.md names unknown metric ${n}`);
    const codes = Object.values(KubeErrorCodes);
    for (const c of codes) assert.ok(doc.includes(`\`${c}\``), `docs/kube.md does not document ${c}`);
    for (const m of doc.matchAll(/`(KUBE_[A-Z_]+)`/g)) assert.ok((codes as string[]).includes(m[1]!), `docs/kube.md names unknown code ${m[1]}`);
  });
});
