/**
 * Property test of the ServiceLB render (issue 15, fast-check): generated clusters (nodes with and
 * without the allow-list and pool labels, addresses and taints; LoadBalancer and other Services with
 * one to three ports, Local or Cluster policy, source ranges, one or two IP families; svclb pods,
 * EndpointSlices and existing DaemonSets), then one object mutated (wrong types, missing fields,
 * out-of-range numbers, odd Unicode, huge lists). Properties:
 * - render never throws; it gives documents xor problems; deterministic and independent of the order
 *   of every input list;
 * - never widen: an invalid Service is never built into a DaemonSet (a kept one is byte for byte the
 *   existing one), and every other Service's outcome is what it is without the invalid object; an
 *   invalid Node, Pod, EndpointSlice or DaemonSet gives at most the ingress and DaemonSets of the
 *   same snapshot without it (a DaemonSet may only gain a nodeSelector).
 * Cases: PORTICO_PROPERTY_RUNS (default 1000), seed PORTICO_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { mutate, mutationOf, shuffled } from '@portico/testing';
import type { Reconciliation, ServiceLBSnapshot } from './api.ts';
import { serviceLBConfig } from './config.ts';
import { daemonSetName } from './names.ts';
import { reconcile } from './reconcile.ts';
import { renderServiceLB, streamText } from './render.ts';
import { names, node, slice, svc, svclbPod } from './testing/index.ts';
import type { DaemonSet, Service, ServicePort } from './types.ts';
import { serviceKey } from './validate.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);
const NOW = '2026-03-01T12:00:00Z';
const config = serviceLBConfig();

type Kind = keyof ServiceLBSnapshot;
const KINDS: Kind[] = ['services', 'services', 'services', 'nodes', 'pods', 'endpointSlices', 'daemonSets'];

/** A valid cluster from a seed (small: the property runs it three to five times per case). */
function cluster(seed: number): ServiceLBSnapshot {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const allowList = rnd(3) === 0;
  const nodes = Array.from({ length: 1 + rnd(4) }, (_, i) =>
    node(`n${i}`, {
      labels: allowList && rnd(2) === 0 ? { [names.enableLbLabel]: 'true', ...(rnd(2) ? { [names.lbPoolLabel]: `p${rnd(2)}` } : {}) } : {},
      internal: [`10.0.0.${i + 1}`, ...(rnd(2) ? [`fd00::${i + 1}`] : [])],
      external: rnd(3) === 0 ? [`203.0.113.${i + 1}`] : [],
      taints: rnd(5) === 0 ? [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] : [],
    }),
  );
  const services: Service[] = [];
  const pods = [];
  const endpointSlices = [];
  const daemonSets: DaemonSet[] = [];
  const count = 1 + rnd(4);
  for (let i = 0; i < count; i++) {
    const protocols = ['TCP', 'UDP', 'SCTP'];
    const ports: ServicePort[] = Array.from({ length: 1 + rnd(3) }, (_, j) => ({ name: `p${j}`, protocol: protocols[rnd(3)]!, port: 80 + i * 10 + j, targetPort: 8080, nodePort: 30000 + i * 10 + j }));
    const dual = rnd(3) === 0;
    const service = svc(`s${i}`, {
      uid: `0000000${i}-0000-4000-8000-000000000000`,
      type: rnd(6) === 0 ? 'ClusterIP' : 'LoadBalancer',
      ports,
      ipFamilies: dual ? ['IPv4', 'IPv6'] : ['IPv4'],
      clusterIPs: dual ? [`10.43.0.${i + 1}`, `fd00:43::${i + 1}`] : [`10.43.0.${i + 1}`],
      etp: rnd(3) === 0 ? 'Local' : 'Cluster',
      ...(rnd(3) === 0 ? { sourceRanges: ['192.168.0.0/16', '10.0.0.0/8'] } : {}),
      ...(rnd(3) === 0 ? { labels: { [names.lbPoolLabel]: `p${rnd(2)}` } } : {}),
    });
    services.push(service);
    for (const n of nodes) if (rnd(2) === 0) pods.push(svclbPod(service, n.metadata!.name!, { ready: rnd(4) !== 0 }));
    if (rnd(2) === 0) endpointSlices.push(slice(service, nodes.map((n) => ({ node: n.metadata!.name!, ready: rnd(2) === 0 }))));
  }
  // Existing DaemonSets: what an earlier reconcile of the same cluster applied (so a now-invalid Service has one to keep).
  for (const ds of reconcile({ services, nodes, pods, endpointSlices, daemonSets: [] }, config, NOW).daemonSets) if (rnd(2) === 0) daemonSets.push(ds);
  return { services, nodes, pods, endpointSlices, daemonSets };
}

function shuffledSnapshot(snap: ServiceLBSnapshot, seed: number): ServiceLBSnapshot {
  return { services: shuffled(snap.services, seed), nodes: shuffled(snap.nodes, seed + 1), pods: shuffled(snap.pods, seed + 2), endpointSlices: shuffled(snap.endpointSlices, seed + 3), daemonSets: shuffled(snap.daemonSets, seed + 4) };
}

/** A DaemonSet without what allow-list mode decides (the pod nodeSelector and the label that records the mode). */
const withoutSelector = (ds: DaemonSet): string => {
  const { nodeSelector: _n, ...pod } = ds.spec?.template?.spec ?? {};
  const { [names.nodeSelectorLabel]: _l, ...labels } = ds.metadata?.labels ?? {};
  return JSON.stringify({ ...ds, metadata: { ...ds.metadata, labels }, spec: { ...ds.spec, template: { ...ds.spec?.template, spec: pod } } });
};
const ingressOf = (r: Reconciliation, key: string): string[] => {
  const o = r.services.find((x) => x.key === key);
  return o && o.status.action !== 'none' ? (o.status.status.loadBalancer.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '') : [];
};

describe(`ServiceLB render properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  it('never throws; documents xor problems; deterministic and order-independent; an invalid object never widens', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), mutationOf<Kind>(KINDS, ['spec', 'ports', 'metadata', 'status', 'labels', 'zzz']), fc.boolean(), (seed, m, mutateIt) => {
        const base = cluster(seed);
        const mutated = mutateIt ? mutate(base, m) : undefined;
        const snap = mutated?.mutated ?? base;
        // Objects as a snapshot file holds them: each map carries its kind (anything else is kept as it is, and has none).
        const KIND: Record<Kind, string> = { services: 'Service', nodes: 'Node', pods: 'Pod', endpointSlices: 'EndpointSlice', daemonSets: 'DaemonSet' };
        const typed = (Object.keys(KIND) as Kind[]).flatMap((k) => (snap[k] as readonly unknown[]).map((o) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? { ...o, kind: KIND[k] } : o)));
        const r1 = renderServiceLB(typed, config, { now: NOW });
        const text = streamText(r1.documents);
        if (r1.problems.length > 0) assert.equal(text, '', 'no documents with problems');
        const r2 = renderServiceLB(shuffled(typed, seed), config, { now: NOW });
        assert.equal(streamText(r2.documents), text, 'order-independent');
        assert.deepEqual(r2.problems, r1.problems);

        const result = reconcile(snap, config, NOW);
        assert.deepEqual(reconcile(shuffledSnapshot(snap, seed), config, NOW), result, 'deterministic, order-independent');
        if (!mutated || result.problems.length === 0) {
          seen.valid++;
          return;
        }
        seen.invalid++;
        const list = snap[m.kind] as readonly unknown[];
        const bad = list[mutated.index];
        const without: ServiceLBSnapshot = { ...snap, [m.kind]: list.filter((_, i) => i !== mutated.index) };
        const baseline = reconcile(without, config, NOW);
        if (m.kind === 'services') {
          const key = serviceKey(bad);
          const own = result.services.filter((o) => o.key === key);
          for (const o of own) {
            assert.notEqual(o.daemonSet.action, 'apply', `an invalid Service is never built: ${JSON.stringify(o.problems)}`);
            if (o.daemonSet.action === 'keep') {
              const name = o.daemonSet.name;
              const kept = result.daemonSets.find((d) => d.metadata?.name === name)!;
              const existing = snap.daemonSets.find((d) => d.metadata?.name === name)!;
              assert.equal(JSON.stringify(kept.spec), JSON.stringify(existing.spec), 'kept byte for byte');
            }
          }
          for (const o of result.services) if (o.key !== key) assert.deepEqual(o, baseline.services.find((b) => b.key === o.key), `${o.key} unaffected`);
          return;
        }
        // Node, Pod, EndpointSlice, DaemonSet: left out, so at most what the snapshot without it gives.
        const baseDs = new Map(baseline.daemonSets.map((d) => [d.metadata?.name, d]));
        for (const ds of result.daemonSets) {
          const b = baseDs.get(ds.metadata?.name);
          assert.ok(b, `DaemonSet ${ds.metadata?.name} only with the invalid object`);
          assert.equal(withoutSelector(ds), withoutSelector(b), 'same DaemonSet but for the node selector');
          const sel = b.spec?.template?.spec?.nodeSelector;
          if (sel) assert.deepEqual(ds.spec?.template?.spec?.nodeSelector, sel, 'a node selector is never dropped');
        }
        for (const o of result.services) {
          const b = new Set(ingressOf(baseline, o.key));
          for (const ip of ingressOf(result, o.key)) assert.ok(b.has(ip), `${o.key}: ingress ${ip} only with the invalid object`);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(seen.invalid > RUNS / 10 && seen.valid > RUNS / 10, `too few cases of one sort: ${JSON.stringify(seen)}`);
  });
});

// Keep the generator honest: its clusters are valid and build DaemonSets.
describe('the property test\'s generator', () => {
  it('makes valid clusters with DaemonSets, pods and slices', () => {
    let ds = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const c = cluster(seed);
      const r = reconcile(c, config, NOW);
      assert.deepEqual(r.problems, [], `seed ${seed}`);
      ds += r.daemonSets.length;
      assert.equal(daemonSetName('s0', '00000000-0000-4000-8000-000000000000').startsWith('svclb-s0-'), true);
    }
    assert.ok(ds > 50, `only ${ds} DaemonSets`);
  });
});
