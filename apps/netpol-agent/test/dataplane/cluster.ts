/**
 * The test cluster of the data-plane tests: which pods exist where, the snapshot the agent renders,
 * running the agent CLI inside a node namespace, and probing every pair against the oracle.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { evaluate, type NetpolSnapshot, type NetworkPolicy } from '@portico/netpol';
import { node as nodeObj, ns, pod, snapshot } from '../../src/testing/fixtures.ts';
import { NODE_BIN, Topology, sh, type NodeSpec, type PodSpec, type ProbeSpec } from './topology.ts';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(REPO, 'apps/netpol-agent/src/main.ts');

/** Pod ports every pod serves; x/a names 8080 "http". */
export const POD_TCP = [80, 8080, 9002];
export const POD_UDP = [53];
export const NODE_TCP = [80];

/** Nodes n1 and n2: addresses on their link, and their pod CIDRs. */
export const NODES: readonly NodeSpec[] = [
  { name: 'n1', ipv4: '192.168.77.1', ipv6: 'fd77::1', podCIDRv4: '10.42.0.0/24', podCIDRv6: 'fd42::/64' },
  { name: 'n2', ipv4: '192.168.77.2', ipv6: 'fd77::2', podCIDRv4: '10.42.1.0/24', podCIDRv6: 'fd42:1::/64' },
];

const podOn = (ns: string, name: string, node: 'n1' | 'n2', host: number, labels: Record<string, string>) => ({
  ns,
  name,
  node,
  ipv4: `10.42.${node === 'n1' ? 0 : 1}.${host}`,
  ipv6: `fd42:${node === 'n1' ? 0 : 1}::${host}`,
  labels,
});

export const PODS: readonly (PodSpec & { labels: Record<string, string> })[] = [
  podOn('x', 'a', 'n1', 10, { pod: 'a', app: 'web' }),
  podOn('x', 'b', 'n1', 11, { pod: 'b' }),
  podOn('y', 'c', 'n1', 12, { pod: 'c' }),
  podOn('y', 'd', 'n2', 13, { pod: 'd' }),
  podOn('z', 'e', 'n2', 14, { pod: 'e', app: 'web' }),
];
export const NAMESPACES = [ns('x'), ns('y', { team: 'y' }), ns('z', { team: 'z' })];

export interface ApplyOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Parsed JSON summary (apply/cleanup print one line). */
  readonly summary: { outcome: string; writes: number; bytes: number; families: { family: string; outcome: string; phase?: string; rolledBack?: boolean; leftovers?: string[] }[] } | undefined;
}

/**
 * Bundles the agent with the options of tools/build-app.mjs (one ESM file), so tests run the program
 * as it ships and each run starts in a fraction of tsx's time. @kubernetes/client-node (loaded only
 * by `run`, and 20 MB of the bundle) stays external and resolves from the repository's
 * node_modules, which is why the bundle is written under the repository's .cache.
 */
export async function bundleAgent(): Promise<string> {
  const dir = join(REPO, '.cache', `np-dataplane-${process.pid}`);
  const outfile = join(dir, 'netpol-agent.mjs');
  await build({
    external: ['@kubernetes/client-node'],
    entryPoints: [MAIN],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    tsconfig: join(REPO, 'tsconfig.base.json'),
    logLevel: 'warning',
    banner: {
      js: [
        "import { createRequire as __portico_createRequire } from 'node:module';",
        "import { fileURLToPath as __portico_fileURLToPath } from 'node:url';",
        "import { dirname as __portico_dirname } from 'node:path';",
        'const require = __portico_createRequire(import.meta.url);',
        'const __filename = __portico_fileURLToPath(import.meta.url);',
        'const __dirname = __portico_dirname(__filename);',
      ].join('\n'),
    },
  });
  return outfile;
}

/** A started agent process: `pid` (with `detached`, also its process group) and its outcome. */
export interface AgentProcess {
  readonly pid: number;
  readonly done: Promise<ApplyOutcome & { readonly signal: NodeJS.Signals | null }>;
}

/**
 * Starts the bundled agent with `args` inside network namespace `netns` (`ip netns exec` execs it,
 * so `pid` is the agent itself); `env` adds to this process's. `detached` makes it the leader of a
 * process group of its own (with the tools it runs), so a test can kill the agent alone or the group.
 */
export function startAgent(netns: string, bundle: string, args: readonly string[], env: Record<string, string> = {}, detached = false): AgentProcess {
  const child = spawn('ip', ['netns', 'exec', netns, NODE_BIN, bundle, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ApplyOutcome & { readonly signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      let summary: ApplyOutcome['summary'];
      try {
        summary = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        summary = undefined;
      }
      resolve({ code: code ?? 1, signal, stdout, stderr, summary });
    });
  });
  return { pid: child.pid!, done };
}

/** Runs the bundled agent with `args` inside network namespace `netns`; `env` adds to this process's. */
export async function runAgent(netns: string, bundle: string, args: readonly string[], env: Record<string, string> = {}): Promise<ApplyOutcome> {
  const { code, stdout, stderr, summary } = await startAgent(netns, bundle, args, env).done;
  return { code, stdout, stderr, summary };
}

export class Cluster {
  readonly topo: Topology;
  readonly #dir: string;
  #n = 0;

  constructor(tag: string) {
    this.topo = new Topology(tag);
    this.#dir = mkdtempSync(join(tmpdir(), 'np-dataplane-'));
  }

  /** The agent as shipped: main.ts bundled like tools/build-app.mjs does (into a temp dir). */
  #bundle = '';

  async start(): Promise<void> {
    this.#bundle = await bundleAgent();
    for (const n of NODES) this.topo.addNode(n);
    this.topo.linkNodes('n1', 'n2');
    for (const p of PODS) this.topo.addPod(p);
    const servers = this.topo.pods.map((p) => this.topo.serve(p.netns, POD_TCP, POD_UDP));
    for (const n of Object.values(this.topo.nodes)) servers.push(this.topo.serve(n.netns, NODE_TCP, []));
    await Promise.all(servers);
  }

  snapshot(policies: readonly NetworkPolicy[]): NetpolSnapshot {
    const n1 = this.topo.nodes['n1']!;
    const n2 = this.topo.nodes['n2']!;
    return snapshot({
      nodes: [nodeObj('n1', [n1.ipv4, n1.ipv6], [n1.podCIDRv4, n1.podCIDRv6]), nodeObj('n2', [n2.ipv4, n2.ipv6], [n2.podCIDRv4, n2.podCIDRv6])],
      namespaces: NAMESPACES,
      pods: this.topo.pods.map((p) =>
        pod(p.ns, p.name, PODS.find((s) => s.name === p.name)!.labels, p.node, [p.ipv4, p.ipv6], p.name === 'a' ? { ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] } : {}),
      ),
      networkPolicies: policies,
    });
  }

  /** Writes a snapshot file (a v1 List in JSON). */
  writeSnapshot(snap: NetpolSnapshot): string {
    const file = join(this.#dir, `snapshot-${++this.#n}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...snap.nodes!, ...snap.namespaces, ...snap.pods, ...snap.networkPolicies] }));
    return file;
  }

  /** Runs `netpol-agent <args>` inside a node namespace. */
  agent(node: 'n1' | 'n2', args: readonly string[], env: Record<string, string> = {}): Promise<ApplyOutcome> {
    return runAgent(this.topo.nodes[node]!.netns, this.#bundle, args, env);
  }

  /** Starts `netpol-agent <args>` inside a node namespace in a process group of its own (see startAgent). */
  startAgent(node: 'n1' | 'n2', args: readonly string[], env: Record<string, string> = {}): AgentProcess {
    return startAgent(this.topo.nodes[node]!.netns, this.#bundle, args, env, true);
  }

  /** `apply` of `policies` on both nodes (each node programs its own pods). */
  async applyBoth(policies: readonly NetworkPolicy[], extraArgs: readonly string[] = []): Promise<Record<'n1' | 'n2', ApplyOutcome>> {
    const file = this.writeSnapshot(this.snapshot(policies));
    const [r1, r2] = await Promise.all(
      (['n1', 'n2'] as const).map((n) => this.agent(n, ['apply', '--node', n, '--families', 'IPv4,IPv6', '--snapshot', file, ...extraArgs])),
    );
    return { n1: r1!, n2: r2! };
  }

  /** The full probe matrix, both families; returns mismatches against the oracle. */
  async checkAgainstOracle(policies: readonly NetworkPolicy[]): Promise<{ mismatches: string[]; probes: number; allowed: number }> {
    const snap = this.snapshot(policies);
    type P = ProbeSpec & { src: string; expect: boolean };
    const bySource = new Map<string, P[]>();
    const add = (netns: string, p: P): void => {
      const list = bySource.get(netns) ?? [];
      list.push(p);
      bySource.set(netns, list);
    };
    const nodes = Object.values(this.topo.nodes);
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const sources = [
        ...this.topo.pods.map((p) => ({ netns: p.netns, label: `${p.ns}/${p.name}`, ip: p[fam], bind: undefined as string | undefined })),
        ...nodes.map((n) => ({ netns: n.netns, label: `node ${n.name}`, ip: n[fam], bind: n[fam] })),
      ];
      for (const s of sources) {
        const targets: { label: string; ip: string; tcp: number[]; udp: number[] }[] = this.topo.pods
          .filter((d) => d.netns !== s.netns)
          .map((d) => ({ label: `${d.ns}/${d.name}`, ip: d[fam], tcp: POD_TCP, udp: POD_UDP }));
        if (!s.bind) for (const n of nodes) targets.push({ label: `node ${n.name}`, ip: n[fam], tcp: NODE_TCP, udp: [] });
        for (const t of targets) {
          for (const [proto, ports] of [
            ['TCP', t.tcp],
            ['UDP', t.udp],
          ] as const) {
            for (const port of ports) {
              const expect = evaluate(snap, { srcIP: s.ip, dstIP: t.ip, proto, dstPort: port }) === 'allow';
              add(s.netns, { id: `${fam} ${s.label} -> ${t.label} ${proto}/${port}`, src: s.label, proto, ip: t.ip, port, ...(s.bind ? { bind: s.bind } : {}), expect });
            }
          }
        }
      }
    }
    const mismatches: string[] = [];
    let probes = 0;
    let allowed = 0;
    await Promise.all(
      [...bySource].map(async ([netns, list]) => {
        const results = await this.topo.probe(netns, list.map(({ id, proto, ip, port, bind }) => ({ id, proto, ip, port, ...(bind ? { bind } : {}) })));
        for (const r of results) {
          const p = list.find((x) => x.id === r.id)!;
          probes++;
          if (r.ok) allowed++;
          if (r.ok !== p.expect) mismatches.push(`${r.id}: oracle says ${p.expect ? 'allow' : 'deny'}, traffic ${r.ok ? 'passed' : `failed (${r.detail})`}`);
        }
      }),
    );
    return { mismatches: mismatches.sort(), probes, allowed };
  }

  /** iptables-save (both families) and ipset save of a node, without comments and counters. */
  kernelState(node: 'n1' | 'n2'): string {
    const netns = this.topo.nodes[node]!.netns;
    const clean = (t: string): string =>
      t
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
        .join('\n');
    // ipset prints entries in hash order; sort the lines so equal contents compare equal.
    const sets = sh(netns, 'ipset', ['save']).split('\n').filter(Boolean).sort().join('\n');
    return [clean(sh(netns, 'iptables-save', [])), clean(sh(netns, 'ip6tables-save', [])), sets].join('\n=====\n');
  }

  destroy(): void {
    this.topo.destroy();
    rmSync(this.#dir, { recursive: true, force: true });
    if (this.#bundle) rmSync(dirname(this.#bundle), { recursive: true, force: true });
  }
}
