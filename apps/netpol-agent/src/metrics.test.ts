import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRegistry } from '@portico/service-kit';
import { createAgentMetrics, METRIC_NAMES } from './metrics.ts';

const DOC = fileURLToPath(new URL('../../../docs/netpol-agent.md', import.meta.url));

describe('metric catalogue (STYLE rule 11)', () => {
  it('registers exactly the catalogued names, kube-router names kept verbatim', async () => {
    const registry = createRegistry('netpol-agent', 'test');
    createAgentMetrics(registry, 'test');
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('kube_router_') || n.startsWith('portico_netpol_'));
    assert.deepEqual(names.sort(), [...METRIC_NAMES].sort());
    for (const n of ['controller_iptables_sync_time', 'controller_policy_chains', 'controller_policy_ipsets', 'controller_iptables_v4_save_time', 'controller_policy_ipset_v6_restore_time']) {
      assert.ok(METRIC_NAMES.includes(`kube_router_${n}` as (typeof METRIC_NAMES)[number]), n);
    }
  });

  it('docs/netpol-agent.md documents every metric, and nothing else', () => {
    const doc = readFileSync(DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('\n## ', doc.indexOf('## Metrics') + 5));
    const documented = [...section.matchAll(/^\| `((?:kube_router|portico_netpol)_[a-z0-9_]+)`/gm)].map((m) => m[1]!);
    assert.deepEqual(documented.sort(), [...METRIC_NAMES].sort());
  });
});
