import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { expectGolden, shuffled } from '@portico/testing';
import type { ServiceLBConfig } from './api.ts';
import { serviceLBConfig } from './config.ts';
import { reconcile, snapshotFromObjects } from './reconcile.ts';
import { renderOutcomes, renderServiceLB, streamText } from './render.ts';

// Golden scenarios: libs/servicelb/testdata/scenarios/<name>.yaml is a snapshot (multi-document,
// v1 Lists allowed); <name>.golden is what `render` prints for it and <name>.outcomes.golden the
// rest of the core's verdict (states, events, plans). UPDATE_GOLDEN=1 rewrites both.

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'scenarios');
const NOW = '2026-03-01T12:00:00Z';

/** Config per scenario where it is not the K3s default. */
const configs: Record<string, Partial<ServiceLBConfig>> = {
  rootless: { rootless: true },
  'forwarding-init-container': { forwardingMode: 'init-container', image: 'ghcr.io/portico/lb-forwarder:0.1.0' },
};

function load(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: unknown[] = [];
  for (const d of docs) {
    assert.deepEqual(d.errors, [], `${path}: YAML errors`);
    const v: unknown = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

const scenarios = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort();

describe('golden scenarios', () => {
  it('the scenario set is complete and every golden file has a scenario', () => {
    for (const required of ['cluster-policy', 'local-policy', 'dual-stack', 'ipv6-only', 'source-ranges', 'tolerations', 'priority-class', 'allow-list-pools', 'enablelb-false', 'exclude-label', 'external-ips', 'rootless', 'load-balancer-class', 'port-conflict', 'no-eligible-nodes', 'long-names', 'mixed-protocol', 'local-no-node-ports', 'orphans', 'forwarding-sysctls', 'forwarding-init-container']) {
      assert.ok(scenarios.includes(required), `missing scenario ${required}.yaml`);
    }
    if (process.env['UPDATE_GOLDEN'] === '1') return;
    for (const g of readdirSync(dir).filter((f) => f.endsWith('.golden'))) {
      assert.ok(scenarios.includes(g.replace(/(\.outcomes)?\.golden$/, '')), `golden file ${g} has no scenario`);
    }
  });

  for (const name of scenarios) {
    describe(name, () => {
      const objects = load(join(dir, `${name}.yaml`));
      const config = serviceLBConfig(configs[name] ?? {});
      const rendered = streamText(renderServiceLB(objects, config, { now: NOW }).documents);

      it('renders to its golden file', () => expectGolden(join(dir, `${name}.golden`), rendered));
      it('decides the outcomes in its golden file', () => {
        expectGolden(join(dir, `${name}.outcomes.golden`), renderOutcomes(reconcile(snapshotFromObjects(objects), config, NOW)));
      });
      it('renders the same bytes for any input order', () => {
        for (const seed of [3, 17, 101]) assert.equal(streamText(renderServiceLB(shuffled(objects, seed), config, { now: NOW }).documents), rendered, `seed ${seed}`);
      });
    });
  }
});
