// The dashboard only queries metrics the apps export: names defined in apps/ and libs/ sources, or
// the Node process metrics prom-client collects with the portico_ prefix (libs/service-kit).
import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { REPO } from './chart-files.ts';
import { dashboardQueries, renderDashboard } from './dashboard.ts';

const METRIC = /\b(?:portico|kube_router)_[a-z0-9_]+\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f.includes('src/'))
    .map((f) => join(dir, f));
}

async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const root of ['apps', 'libs']) {
    for (const f of sourceFiles(join(REPO, root))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/['`]((?:portico|kube_router)_[a-z0-9_]+)['`]/g)) names.add(m[1]!);
    }
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portico_' });
  for (const m of await registry.getMetricsAsJSON()) names.add(m.name);
  return names;
}

describe('Grafana dashboard', () => {
  it('every metric a panel queries is one the apps export', async () => {
    const known = await exportedMetricNames();
    const unknown = new Set<string>();
    const queried = new Set<string>();
    for (const expr of dashboardQueries()) {
      for (const m of expr.match(METRIC) ?? []) {
        const base = m.replace(/_(bucket|sum|count)$/, '');
        queried.add(base);
        if (!known.has(base)) unknown.add(m);
      }
    }
    assert.deepEqual([...unknown], []);
    assert.ok(queried.size >= 20, `only ${queried.size} metrics queried`);
  });

  it('the check knows a metric nobody exports is wrong (not vacuous)', async () => {
    const known = await exportedMetricNames();
    assert.equal(known.has('portico_servicelb_reconciles_total'), true);
    assert.equal(known.has('portico_servicelb_frobnications_total'), false);
  });

  it('is valid JSON with unique panel ids and a datasource variable', () => {
    const d = JSON.parse(renderDashboard()) as { uid: string; panels: { id: number }[]; templating: { list: { name: string }[] } };
    assert.equal(d.uid, 'portico');
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(d.templating.list.some((v) => v.name === 'datasource'));
  });
});
