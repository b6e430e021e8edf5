/**
 * A two-node "cluster" made of network namespaces, for the netpol-agent data-plane tests.
 *
 *   pod ns (eth0, 10.42.N.x/32 + fd42:N::x/128) ──veth── node ns nN ──veth── node ns nM ── pods
 *
 * Routed veths, no bridge (what CNI `ptp` and Calico do): each pod has a /32 and a /128, a default
 * route to the node side of its veth (169.254.1.1 / fe80::1, as Calico does, so that no pod-CIDR
 * address is used up), and the node routes the pod address to that veth. Pod-to-pod traffic on one node is therefore routed through the node's FORWARD chain,
 * so the iptables rules see it without br_netfilter. (A bridge would work too: on this machine's
 * kernel, 6.18, `net.bridge.bridge-nf-call-iptables` is per network namespace, a new namespace starts
 * at 1 and setting it there leaves the host's value alone; but it needs the br_netfilter module.) The
 * two node namespaces are joined by a veth (192.168.77.N / fd77::N) and route each other's pod CIDRs.
 *
 * Every namespace name starts with `np-` plus a per-process tag; `destroy()` removes them all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

export const NODE_BIN = process.execPath;
/** The node side of every pod veth (Calico's choice): outside any pod CIDR. */
const GW4 = '169.254.1.1';
const GW6 = 'fe80::1';
const PROBE = fileURLToPath(new URL('./netprobe.ts', import.meta.url));

export interface NodeSpec {
  readonly name: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6: string;
}

export interface NodeInfo extends NodeSpec {
  readonly netns: string;
}

export interface PodSpec {
  readonly ns: string;
  readonly name: string;
  readonly node: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

export interface PodInfo extends PodSpec {
  readonly netns: string;
}

export interface ProbeSpec {
  readonly id: string;
  readonly proto: 'TCP' | 'UDP';
  readonly ip: string;
  readonly port: number;
  readonly bind?: string;
}

export interface ProbeResult {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Fails loudly, naming what is missing (the tier's rule: no silent skips). */
export function checkPrerequisites(commands: readonly string[]): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (uid 0)');
  for (const c of commands) {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'pipe' });
    } catch {
      missing.push(c);
    }
  }
  if (missing.length) throw new Error(`netpol-agent data-plane tests need: ${missing.join(', ')} (apt-get install iptables ipset iproute2 conntrack)`);
}

export function sh(netns: string | undefined, cmd: string, args: readonly string[], input?: string): string {
  const full = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
  try {
    return execFileSync(full[0] as string, full[1] as string[], { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; status?: number };
    throw new Error(`${netns ? `[${netns}] ` : ''}${cmd} ${args.join(' ')} failed (${err.status}): ${err.stderr ?? e}`);
  }
}

export class Topology {
  readonly tag: string;
  readonly nodes: Record<string, NodeInfo> = {};
  readonly pods: PodInfo[] = [];
  readonly #namespaces: string[] = [];
  readonly #servers: ChildProcess[] = [];
  /** netns -> its netprobe process (serves ports, runs probe batches from stdin). */
  readonly #agents = new Map<string, { child: ChildProcess; waiting: ((line: string) => void)[]; buf: string }>();

  constructor(tag: string) {
    this.tag = tag;
  }

  #addNetns(name: string): void {
    if (existsSync(`/var/run/netns/${name}`)) sh(undefined, 'ip', ['netns', 'del', name]);
    sh(undefined, 'ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    sh(name, 'ip', ['link', 'set', 'lo', 'up']);
    // No duplicate address detection: addresses are usable at once.
    for (const k of ['all', 'default']) sh(name, 'sysctl', ['-qw', `net.ipv6.conf.${k}.accept_dad=0`]);
  }

  /** A node namespace that forwards (the node's own addresses go on its link to other nodes). */
  addNode(spec: NodeSpec): NodeInfo {
    const netns = `np-${this.tag}-${spec.name}`.slice(0, 40);
    this.#addNetns(netns);
    sh(netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    sh(netns, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    // Policy REJECTs are ICMP errors, which the kernel rate-limits per destination (about one a
    // second after a small burst); a probe matrix would then see timeouts instead of refusals.
    sh(netns, 'sysctl', ['-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv6.icmp.ratelimit=0']);
    const info = { ...spec, netns };
    this.nodes[spec.name] = info;
    return info;
  }

  /** Joins two nodes with a veth carrying their addresses (/24, /64) and routes each one's pod CIDRs. */
  linkNodes(a: string, b: string): void {
    const na = this.nodes[a]!;
    const nb = this.nodes[b]!;
    sh(na.netns, 'ip', ['link', 'add', 'nl', 'type', 'veth', 'peer', 'name', 'nl', 'netns', nb.netns]);
    for (const [n, peer] of [
      [na, nb],
      [nb, na],
    ] as const) {
      sh(n.netns, 'ip', ['addr', 'add', `${n.ipv4}/24`, 'dev', 'nl']);
      sh(n.netns, 'ip', ['-6', 'addr', 'add', `${n.ipv6}/64`, 'dev', 'nl', 'nodad']);
      sh(n.netns, 'ip', ['link', 'set', 'nl', 'up']);
      sh(n.netns, 'ip', ['route', 'add', peer.podCIDRv4, 'via', peer.ipv4]);
      sh(n.netns, 'ip', ['-6', 'route', 'add', peer.podCIDRv6, 'via', peer.ipv6]);
    }
  }

  /** Gives a lone node its addresses (on lo; there is no other node to link to). */
  addNodeAddresses(name: string): void {
    const n = this.nodes[name]!;
    sh(n.netns, 'ip', ['addr', 'add', `${n.ipv4}/32`, 'dev', 'lo']);
    sh(n.netns, 'ip', ['-6', 'addr', 'add', `${n.ipv6}/128`, 'dev', 'lo', 'nodad']);
  }

  addPod(spec: PodSpec): PodInfo {
    const node = this.nodes[spec.node]!;
    const netns = `np-${this.tag}-${spec.name}`.slice(0, 40);
    this.#addNetns(netns);
    const hostIf = `v-${spec.name}`.slice(0, 15);
    sh(node.netns, 'ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    sh(node.netns, 'ip', ['addr', 'add', `${GW4}/32`, 'dev', hostIf]);
    sh(node.netns, 'ip', ['-6', 'addr', 'add', `${GW6}/64`, 'dev', hostIf, 'nodad']);
    sh(node.netns, 'ip', ['link', 'set', hostIf, 'up']);
    sh(node.netns, 'ip', ['route', 'add', `${spec.ipv4}/32`, 'dev', hostIf]);
    sh(node.netns, 'ip', ['-6', 'route', 'add', `${spec.ipv6}/128`, 'dev', hostIf]);
    sh(netns, 'ip', ['addr', 'add', `${spec.ipv4}/32`, 'dev', 'eth0']);
    sh(netns, 'ip', ['-6', 'addr', 'add', `${spec.ipv6}/128`, 'dev', 'eth0', 'nodad']);
    sh(netns, 'ip', ['link', 'set', 'eth0', 'up']);
    sh(netns, 'ip', ['route', 'add', GW4, 'dev', 'eth0']);
    sh(netns, 'ip', ['route', 'add', 'default', 'via', GW4, 'dev', 'eth0']);
    sh(netns, 'ip', ['-6', 'route', 'add', 'default', 'via', GW6, 'dev', 'eth0']);
    const info = { ...spec, netns };
    this.pods.push(info);
    return info;
  }

  /** Starts the netprobe process of `netns` (servers on the given ports); resolves when it listens. */
  async serve(netns: string, tcp: readonly number[], udp: readonly number[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', netns, NODE_BIN, PROBE, 'serve', '--tcp', tcp.join(','), '--udp', udp.join(',')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#servers.push(child);
    const agent = { child, waiting: [] as ((line: string) => void)[], buf: '' };
    await new Promise<void>((resolve, reject) => {
      let err = '';
      let ready = false;
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        agent.buf += d.toString();
        let nl: number;
        while ((nl = agent.buf.indexOf('\n')) >= 0) {
          const line = agent.buf.slice(0, nl);
          agent.buf = agent.buf.slice(nl + 1);
          if (!ready && line === 'ready') {
            ready = true;
            resolve();
          } else agent.waiting.shift()?.(line);
        }
      });
      child.once('exit', (code) => {
        const e = new Error(`netprobe in ${netns} exited ${code}: ${err}`);
        reject(e);
        for (const w of agent.waiting.splice(0)) w(JSON.stringify({ error: e.message }));
      });
    });
    this.#agents.set(netns, agent);
  }

  /** Runs probes from `netns` concurrently, through its netprobe process. */
  probe(netns: string, probes: readonly ProbeSpec[]): Promise<ProbeResult[]> {
    if (probes.length === 0) return Promise.resolve([]);
    const agent = this.#agents.get(netns);
    if (!agent) throw new Error(`no netprobe process in ${netns}`);
    return new Promise((resolve, reject) => {
      agent.waiting.push((line) => {
        const v = JSON.parse(line) as ProbeResult[] | { error: string };
        if (Array.isArray(v)) resolve(v);
        else reject(new Error(v.error));
      });
      agent.child.stdin!.write(JSON.stringify(probes) + '\n');
    });
  }

  /** Kills servers and deletes every namespace this topology created. Safe to call twice. */
  destroy(): void {
    for (const s of this.#servers.splice(0)) s.kill('SIGKILL');
    for (const n of this.#namespaces.splice(0).reverse()) {
      try {
        sh(undefined, 'ip', ['netns', 'del', n]);
      } catch {
        // already gone
      }
    }
  }
}
