/**
 * Property tests of the netpol render (issue 15, fast-check): generated valid clusters (the
 * conformance generator) with one object mutated (wrong types, missing fields, out-of-range numbers,
 * odd Unicode, huge lists, whole objects replaced by garbage).
 *
 * - never throws, whatever the input;
 * - deterministic and independent of the order of the input arrays (same text, same problems);
 * - fail closed: an invalid object (one reported with severity error) never makes the rendered rules
 *   allow a connection that the same snapshot without that object denies (the simulator on 32
 *   sampled connections per case, both families; every pod on one node so one render per side).
 *
 * Cases: PORTICO_PROPERTY_RUNS (default 1000 each; the longer run in docs/reliability.md uses
 * 10000), seed PORTICO_PROPERTY_SEED (default fixed, so CI is reproducible; a failure prints the
 * seed and the shrunk counterexample).
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { mutate, mutationOf, shuffled } from '@portico/testing';
import { type GeneratedCluster, generateCase, Rng } from './testing/index.ts';
import { renderNetpol } from './render.ts';
import { simulateConnection, type SimNode } from './simulate.ts';
import { toDesiredText } from './text.ts';
import type { DesiredState, NetpolConfig, NetpolSnapshot } from './types.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);
const CONFIG: Omit<NetpolConfig, 'nodeName'> = { families: ['IPv4', 'IPv6'], defaultDeny: true };

type Kind = 'networkPolicies' | 'pods' | 'namespaces' | 'nodes';

const mutation = mutationOf<Kind>(['networkPolicies', 'networkPolicies', 'networkPolicies', 'pods', 'namespaces', 'nodes'], ['spec', 'ingress', 'egress', 'from', 'to', 'ports', 'podSelector', 'matchLabels', 'ipBlock', 'zzz']);

function without(snap: NetpolSnapshot, kind: Kind, index: number): NetpolSnapshot {
  return { ...snap, [kind]: ((snap[kind] ?? []) as readonly unknown[]).filter((_, i) => i !== index) };
}

function text(d: DesiredState): string {
  return toDesiredText(d) + JSON.stringify(d.problems);
}

/**
 * The generated cluster with every pod on node n1 (one render answers every connection: the property
 * runs thousands of cases, and pods on n2 would need a second render per side).
 */
function oneNode(seed: number): GeneratedCluster {
  const c = generateCase(seed);
  const pods = c.snapshot.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: 'n1' } }));
  const n1 = c.nodes.find((n) => n.name === 'n1')!;
  const cidrs = [...new Set(c.nodes.flatMap((n) => n.podCIDRs))];
  const nodes = (c.snapshot.nodes ?? []).filter((n) => n.metadata.name === 'n1').map((n) => ({ ...n, spec: { podCIDRs: cidrs } }));
  return { ...c, snapshot: { ...c.snapshot, pods, nodes }, nodes: [{ ...n1, podCIDRs: cidrs }] };
}

/** Node n1's rendered state, with the addresses of the base cluster (the same topology for both sides). */
function simNodes(c: GeneratedCluster, snapshot: NetpolSnapshot): SimNode[] {
  return c.nodes.map((n) => ({
    name: n.name,
    localAddresses: [...n.addresses, ...n.gateways],
    podIPs: c.snapshot.pods.filter((p) => !p.spec?.hostNetwork).flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip)),
    state: renderNetpol(snapshot, { ...CONFIG, nodeName: n.name }),
  }));
}

const PROBES = [
  { proto: 'TCP', port: 80 },
  { proto: 'TCP', port: 81 },
  { proto: 'UDP', port: 53 },
  { proto: 'SCTP', port: 80 },
  { proto: 'TCP', port: 5432 },
] as const;

describe(`netpol render properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  it('never throws; deterministic and independent of input order; fail closed: an invalid object never allows a connection that the snapshot without it denies', () => {
    let invalidSeen = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), mutation, fc.integer(), (seed, m, sampleSeed) => {
        const c = oneNode(seed);
        const got = mutate(c.snapshot, m);
        if (!got) return;
        const withIt = simNodes(c, got.mutated);
        const state = withIt[0]!.state;
        // Order independence (which implies determinism of what the output depends on).
        const r = new Rng(sampleSeed);
        const s = got.mutated;
        const reordered: NetpolSnapshot = { pods: shuffled(s.pods, sampleSeed), namespaces: shuffled(s.namespaces, sampleSeed + 1), networkPolicies: shuffled(s.networkPolicies, sampleSeed + 2), nodes: shuffled(s.nodes ?? [], sampleSeed + 3) };
        assert.equal(text(renderNetpol(reordered, { ...CONFIG, nodeName: 'n1' })), text(state), 'independent of input order');

        const errors = state.problems.filter((p) => p.severity === 'error' && p.object);
        if (errors.length === 0) return; // still a valid object: a different policy, not an invalid one
        invalidSeen++;
        const withoutIt = simNodes(c, without(got.mutated, m.kind, got.index));
        const ips = c.snapshot.pods.flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip));
        const others = [...c.nodes.flatMap((n) => [...n.addresses, ...n.gateways]), ...c.external];
        for (let k = 0; k < 32; k++) {
          const src = r.pick(r.chance(0.7) ? ips : others);
          const dst = r.pick(r.chance(0.8) ? ips : others);
          if (src === dst || src.includes(':') !== dst.includes(':')) continue;
          const probe = r.pick(PROBES);
          const conn = { srcIP: src, dstIP: dst, proto: probe.proto, dstPort: probe.port };
          if (simulateConnection(withIt, conn).verdict === 'allow') {
            assert.equal(simulateConnection(withoutIt, conn).verdict, 'allow', `${src} -> ${dst} ${probe.proto}/${probe.port} allowed only with the invalid object ${JSON.stringify(errors[0])}`);
          }
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(invalidSeen > RUNS / 5, `the mutations must produce invalid objects often (${invalidSeen} of ${RUNS})`);
  });
});
