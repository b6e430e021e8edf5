import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { type GeneratedCluster, generateCase, Rng } from './testing/index.ts';
import { type Connection, evaluate } from './oracle.ts';
import { renderNetpol } from './render.ts';
import { type SimNode, simulateConnection } from './simulate.ts';
import type { Family, NetpolConfig } from './types.ts';

/**
 * Renderer vs oracle on generated policy sets: for every case, every (source, destination, protocol,
 * port) of the generated cluster, the rendered rules walked by the simulator on both nodes must
 * give the oracle's verdict. Deterministic (seeded); a failure names the seed, the connection and the
 * hop trace.
 */

const PROBES: readonly { proto: Connection['proto']; port: number }[] = [
  { proto: 'TCP', port: 80 },
  { proto: 'TCP', port: 81 },
  { proto: 'TCP', port: 8080 },
  { proto: 'UDP', port: 53 },
  { proto: 'UDP', port: 80 },
  { proto: 'SCTP', port: 80 },
  { proto: 'TCP', port: 30080 },
];

interface Endpoint {
  ip: string;
  /** An actionable pod address. */
  pod: boolean;
  external: boolean;
}

function endpoints(c: GeneratedCluster, family: Family, defaultDeny: boolean): Endpoint[] {
  const v6 = family === 'IPv6';
  const out = new Map<string, Endpoint>();
  for (const p of c.snapshot.pods) {
    const finished = p.status?.phase === 'Succeeded';
    for (const { ip } of p.status?.podIPs ?? []) {
      if (ip.includes(':') !== v6) continue;
      // Under default-deny, addresses in a node's pod CIDR that are not programmed pods (finished pods)
      // are rejected by design (kube-router-local-pods); the oracle knows nothing of that.
      if (defaultDeny && finished) continue;
      out.set(ip, { ip, pod: !finished && !p.spec?.hostNetwork, external: false });
    }
  }
  for (const n of c.nodes) for (const a of [...n.addresses, ...n.gateways]) if (a.includes(':') === v6 && !out.has(a)) out.set(a, { ip: a, pod: false, external: false });
  for (const a of c.external) if (a.includes(':') === v6) out.set(a, { ip: a, pod: false, external: true });
  return [...out.values()].sort((a, b) => (a.ip < b.ip ? -1 : 1));
}

function simNodes(c: GeneratedCluster, config: Omit<NetpolConfig, 'nodeName'>): SimNode[] {
  return c.nodes.map((n) => ({
    name: n.name,
    localAddresses: [...n.addresses, ...n.gateways],
    podIPs: c.snapshot.pods
      .filter((p) => p.spec?.nodeName === n.name && !p.spec?.hostNetwork)
      .flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip)),
    state: renderNetpol(c.snapshot, { ...config, nodeName: n.name }),
  }));
}

/**
 * Runs cases `from..to-1`. For each family it checks every pod-to-pod pair on `podProbes` randomly
 * chosen probes, and `otherPairs` random pairs that involve node, gateway, hostNetwork, finished or
 * external addresses, each on every probe. All choices come from the case's seed.
 */
export function runCases(
  from: number,
  to: number,
  config: Omit<NetpolConfig, 'nodeName'>,
  sample: { podProbes: number; otherPairs: number } = { podProbes: 2, otherPairs: 12 },
): { connections: number; allowed: number } {
  let connections = 0;
  let allowed = 0;
  for (let seed = from; seed < to; seed++) {
    const c = generateCase(seed);
    const rng = new Rng(seed ^ 0x5eed);
    const nodes = simNodes(c, config);
    for (const n of nodes) assert.deepEqual(n.state.problems, [], `seed ${seed}: generated policies must be valid`);
    const oracleOptions = { extraLocalAddresses: Object.fromEntries(c.nodes.map((n) => [n.name, n.gateways])) };
    const check = (s: Endpoint, d: Endpoint, probe: (typeof PROBES)[number], family: Family): void => {
      const conn: Connection = { srcIP: s.ip, dstIP: d.ip, proto: probe.proto, dstPort: probe.port };
      const want = evaluate(c.snapshot, conn, oracleOptions);
      const got = simulateConnection(nodes, conn);
      connections++;
      if (want === 'allow') allowed++;
      if (got.verdict !== want) {
        assert.fail(
          `seed ${seed} ${family} ${s.ip} -> ${d.ip} ${probe.proto}/${probe.port}: oracle ${want}, rules ${got.verdict}\n` +
            `policies: ${JSON.stringify(c.snapshot.networkPolicies)}\n` +
            got.hops.map((h) => `  ${h.node} ${h.hook}: ${h.result.verdict} via ${h.result.trace.join(' > ')}`).join('\n'),
        );
      }
    };
    for (const family of config.families ?? ['IPv4']) {
      const eps = endpoints(c, family, config.defaultDeny ?? false);
      const pods = eps.filter((e) => e.pod);
      for (const s of pods) {
        for (const d of pods) {
          if (s.ip === d.ip) continue;
          for (let k = 0; k < sample.podProbes; k++) check(s, d, rng.pick(PROBES), family);
        }
      }
      const others: [Endpoint, Endpoint][] = [];
      for (const s of eps) {
        for (const d of eps) {
          if (s.ip === d.ip || (s.pod && d.pod) || (s.external && d.external)) continue;
          others.push([s, d]);
        }
      }
      for (let k = 0; k < sample.otherPairs; k++) {
        const [s, d] = rng.pick(others);
        for (const probe of PROBES) check(s, d, probe, family);
      }
    }
  }
  return { connections, allowed };
}

describe('rendered rules agree with the NetworkPolicy oracle on generated cases', () => {
  it('dual-stack, upstream profile: 1500 generated policy sets', () => {
    const r = runCases(0, 1500, { families: ['IPv4', 'IPv6'] });
    console.log(`${r.connections} connections compared, ${r.allowed} allowed`);
    // The generator must exercise both outcomes in volume, or the comparison proves little.
    assert.ok(r.allowed > r.connections * 0.2 && r.allowed < r.connections * 0.95, `allowed ${r.allowed} of ${r.connections}`);
  });

  it('default-deny profile with per-policy NFLOG and k3s-fork ACCEPT placement: 500 more cases', () => {
    const r = runCases(5000, 5500, {
      families: ['IPv4', 'IPv6'],
      defaultDeny: true,
      acceptPlacement: 'after-kube-rules',
      nflog: { perPolicy: true },
    });
    console.log(`${r.connections} connections compared, ${r.allowed} allowed`);
    assert.ok(r.allowed > r.connections * 0.2 && r.allowed < r.connections * 0.95, `allowed ${r.allowed} of ${r.connections}`);
  });
});
