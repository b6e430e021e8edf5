/**
 * Render benchmark: 5,000 pods x 500 policies (50 namespaces, 20 nodes), full render and a one-pod
 * change through {@link NetpolRenderer}. Run: `node --import tsx libs/netpol/src/render.bench.ts`.
 * Prints one JSON line per measurement: median wall time and median CPU time (ms) of several runs.
 */
import { Rng } from './testing/index.ts';
import { NetpolRenderer, renderNetpol } from './render.ts';
import type { NetpolConfig, NetpolSnapshot, NetworkPolicy, Pod } from './types.ts';

export function benchSnapshot(podCount = 5000, policyCount = 500, nodeCount = 20, nsCount = 50): NetpolSnapshot {
  const r = new Rng(42);
  const apps = ['web', 'api', 'db', 'cache', 'worker', 'batch', 'auth', 'search', 'queue', 'metrics'];
  const pods: Pod[] = [];
  for (let i = 0; i < podCount; i++) {
    const node = i % nodeCount;
    const app = apps[i % apps.length]!;
    pods.push({
      metadata: { namespace: `ns${i % nsCount}`, name: `${app}-${i}`, labels: { app, tier: i % 3 === 0 ? 'front' : 'back', 'pod-template-hash': String(i % 7) } },
      spec: {
        nodeName: `node${node}`,
        containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 + (i % 3) }, { name: 'metrics', containerPort: 9090 }] }],
      },
      status: {
        phase: 'Running',
        podIP: `10.${42 + Math.floor(node / 250)}.${node % 250}.${(Math.floor(i / nodeCount) % 250) + 2}`,
        podIPs: [{ ip: `10.${42 + Math.floor(node / 250)}.${node % 250}.${(Math.floor(i / nodeCount) % 250) + 2}` }],
      },
    });
  }
  const policies: NetworkPolicy[] = [];
  for (let i = 0; i < policyCount; i++) {
    const ns = `ns${i % nsCount}`;
    const app = apps[r.int(apps.length)]!;
    const from = apps[r.int(apps.length)]!;
    policies.push({
      metadata: { namespace: ns, name: `pol-${i}` },
      spec: {
        podSelector: r.chance(0.1) ? {} : { matchLabels: { app } },
        policyTypes: r.chance(0.4) ? ['Ingress', 'Egress'] : ['Ingress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: from } } }], ports: [{ port: 'http' }, { port: 443 }] },
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns${r.int(nsCount)}` } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] } }] },
          ...(r.chance(0.3) ? [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }], ports: [{ port: 8080, endPort: 8090 }] }] : []),
        ],
        egress: [
          { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 5432 }] },
          { ports: [{ port: 53, protocol: 'UDP' }, { port: 'metrics' }] },
        ],
      },
    });
  }
  const namespaces = Array.from({ length: nsCount }, (_, i) => ({ metadata: { name: `ns${i}`, labels: { 'kubernetes.io/metadata.name': `ns${i}` } } }));
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({ metadata: { name: `node${i}` }, spec: { podCIDRs: [`10.42.${i}.0/24`] }, status: { addresses: [{ type: 'InternalIP', address: `172.18.0.${i + 2}` }] } }));
  return { pods, namespaces, networkPolicies: policies, nodes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall time and median process CPU time (user + system) of `runs` calls, in ms. */
function time(fn: () => void, runs: number): { ms: number; cpuMs: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { ms: Math.round(median(wall) * 10) / 10, cpuMs: Math.round(median(cpu) * 10) / 10 };
}

const main = (): void => {
  const config: NetpolConfig = { nodeName: 'node0', defaultDeny: true };
  const snap = benchSnapshot();
  const full = time(() => renderNetpol(snap, config), 5);
  const state = renderNetpol(snap, config);
  const fam = state.families[0]!;
  const rules = fam.chains.reduce((n, c) => n + c.rules.length, 0);
  const entries = fam.ipsets.reduce((n, s) => n + s.entries.length, 0);
  console.log(JSON.stringify({ case: 'full render', pods: snap.pods.length, policies: snap.networkPolicies.length, localPods: snap.pods.length / 20, ...full, chains: fam.chains.length, rules, sets: fam.ipsets.length, setEntries: entries }));

  // Incremental: one pod's labels change between renders (the agent's common case).
  const renderer = new NetpolRenderer();
  renderer.render(snap, config);
  let flip = 0;
  const inc = time(() => {
    flip++;
    const pods = snap.pods.slice();
    const p = pods[123]!;
    pods[123] = { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, app: flip % 2 ? 'api' : 'web' } } };
    renderer.render({ ...snap, pods }, config);
  }, 9);
  console.log(JSON.stringify({ case: 'incremental render, one pod relabelled', ...inc }));

  const incPol = time(() => {
    flip++;
    const networkPolicies = snap.networkPolicies.slice();
    const p = networkPolicies[7]!;
    networkPolicies[7] = { ...p, spec: { ...p.spec, ingress: [{ ports: [{ port: 1000 + (flip % 2) }] }] } };
    renderer.render({ ...snap, networkPolicies }, config);
  }, 9);
  console.log(JSON.stringify({ case: 'incremental render, one policy changed', ...incPol }));

  const allLocal = benchSnapshot(5000, 500, 1, 50);
  const worst = time(() => renderNetpol(allLocal, config), 3);
  console.log(JSON.stringify({ case: 'full render, all 5000 pods local (worst case)', ...worst }));
};

if (import.meta.url === `file://${process.argv[1]}`) main();
