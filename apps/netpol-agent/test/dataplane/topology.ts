/**
 * A two-node "cluster" made of network namespaces, for the netpol-agent data-plane tests.
 *
 *   pod ns (eth0, 10.42.N.x/32 + fd42:N::x/128) ──veth── node ns nN ──veth── node ns nM ── pods
 *
 * Routed veths, no bridge (what CNI `ptp` and Calico do): each pod has a /32 and a /128, a default
 * route to the node side of its veth (10.42.N.1 / fe80::1), and the node routes the pod address to
 * that veth. Pod-to-pod traffic on one node is therefore routed through the node's FORWARD chain,
 * so the iptables rules see it without br_netfilter (whose bridge-nf-call sysctls would otherwise
 * be needed: per network namespace on kernels >= 5.3, but tied to the module's global state). The
 * two node namespaces are joined by a veth (192.168.77.N / fd77::N) and route each other's pod CIDRs.
 *
 * Every namespace name starts with `np-` plus a per-process tag; `destroy()` removes them all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

export const NODE_BIN = process.execPath;
const PROBE = fileURLToPath(new URL('./netprobe.ts', import.meta.url));

export interface PodSpec {
  readonly ns: string;
  readonly name: string;
  readonly node: 'n1' | 'n2';
  /** Host part, e.g. 10 gives 10.42.0.10 / fd42::10 on n1 and 10.42.1.10 / fd42:1::10 on n2. */
  readonly host: number;
}

export interface NodeInfo {
  readonly name: 'n1' | 'n2';
  readonly netns: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6: string;
}

export interface PodInfo extends PodSpec {
  readonly netns: string;
  readonly ipv4: string;
  readonly ipv6: string;
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
  if (missing.length) throw new Error(`netpol-agent data-plane tests need: ${missing.join(', ')} (apt-get install iptables ipset iproute2)`);
}

export function sh(netns: string | undefined, cmd: string, args: readonly string[], input?: string): string {
  const full = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
  try {
    return execFileSync(full[0] as string, full[1] as string[], { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; status?: number };
    throw new Error(`${netns ? `[${netns}] ` : ''}${cmd} ${args.join(' ')} failed (${err.status}): ${err.stderr ?? e}`);
  }
}

export class Topology {
  readonly tag: string;
  readonly nodes: Record<'n1' | 'n2', NodeInfo>;
  readonly pods: PodInfo[] = [];
  readonly #namespaces: string[] = [];
  readonly #servers: ChildProcess[] = [];
  /** netns -> its netprobe process (serves ports, runs probe batches from stdin). */
  readonly #agents = new Map<string, { child: ChildProcess; waiting: ((line: string) => void)[]; buf: string }>();

  constructor(tag: string) {
    this.tag = tag;
    const node = (name: 'n1' | 'n2', i: number): NodeInfo => ({
      name,
      netns: `np-${tag}-${name}`,
      ipv4: `192.168.77.${i + 1}`,
      ipv6: `fd77::${i + 1}`,
      podCIDRv4: `10.42.${i}.0/24`,
      podCIDRv6: i === 0 ? 'fd42::/64' : `fd42:${i}::/64`,
    });
    this.nodes = { n1: node('n1', 0), n2: node('n2', 1) };
  }

  #addNetns(name: string): void {
    if (existsSync(`/var/run/netns/${name}`)) sh(undefined, 'ip', ['netns', 'del', name]);
    sh(undefined, 'ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    sh(name, 'ip', ['link', 'set', 'lo', 'up']);
    // No duplicate address detection: addresses are usable at once.
    for (const k of ['all', 'default']) sh(name, 'sysctl', ['-qw', `net.ipv6.conf.${k}.accept_dad=0`]);
  }

  /** Builds both nodes, the link between them and the pods. */
  build(pods: readonly PodSpec[]): void {
    const { n1, n2 } = this.nodes;
    for (const n of [n1, n2]) {
      this.#addNetns(n.netns);
      sh(n.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      sh(n.netns, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
      // Policy REJECTs are ICMP errors, which the kernel rate-limits per destination (about one a
      // second after a small burst); a probe matrix would then see timeouts instead of refusals.
      sh(n.netns, 'sysctl', ['-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv6.icmp.ratelimit=0']);
    }
    sh(n1.netns, 'ip', ['link', 'add', 'nl', 'type', 'veth', 'peer', 'name', 'nl', 'netns', n2.netns]);
    for (const [n, peer] of [
      [n1, n2],
      [n2, n1],
    ] as const) {
      sh(n.netns, 'ip', ['addr', 'add', `${n.ipv4}/24`, 'dev', 'nl']);
      sh(n.netns, 'ip', ['-6', 'addr', 'add', `${n.ipv6}/64`, 'dev', 'nl', 'nodad']);
      sh(n.netns, 'ip', ['link', 'set', 'nl', 'up']);
      sh(n.netns, 'ip', ['route', 'add', peer.podCIDRv4, 'via', peer.ipv4]);
      sh(n.netns, 'ip', ['-6', 'route', 'add', peer.podCIDRv6, 'via', peer.ipv6]);
    }
    for (const p of pods) this.#addPod(p);
  }

  podIPs(spec: PodSpec): { ipv4: string; ipv6: string } {
    const i = spec.node === 'n1' ? 0 : 1;
    return { ipv4: `10.42.${i}.${spec.host}`, ipv6: i === 0 ? `fd42::${spec.host}` : `fd42:${i}::${spec.host}` };
  }

  #addPod(spec: PodSpec): void {
    const node = this.nodes[spec.node];
    const netns = `np-${this.tag}-${spec.name}`;
    const { ipv4, ipv6 } = this.podIPs(spec);
    const gw4 = node.podCIDRv4.replace(/0\/24$/, '1');
    this.#addNetns(netns);
    const hostIf = `v-${spec.name}`.slice(0, 15);
    sh(node.netns, 'ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    sh(node.netns, 'ip', ['addr', 'add', `${gw4}/32`, 'dev', hostIf]);
    sh(node.netns, 'ip', ['-6', 'addr', 'add', 'fe80::1/64', 'dev', hostIf, 'nodad']);
    sh(node.netns, 'ip', ['link', 'set', hostIf, 'up']);
    sh(node.netns, 'ip', ['route', 'add', `${ipv4}/32`, 'dev', hostIf]);
    sh(node.netns, 'ip', ['-6', 'route', 'add', `${ipv6}/128`, 'dev', hostIf]);
    sh(netns, 'ip', ['addr', 'add', `${ipv4}/32`, 'dev', 'eth0']);
    sh(netns, 'ip', ['-6', 'addr', 'add', `${ipv6}/128`, 'dev', 'eth0', 'nodad']);
    sh(netns, 'ip', ['link', 'set', 'eth0', 'up']);
    sh(netns, 'ip', ['route', 'add', gw4, 'dev', 'eth0']);
    sh(netns, 'ip', ['route', 'add', 'default', 'via', gw4, 'dev', 'eth0']);
    sh(netns, 'ip', ['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0']);
    this.pods.push({ ...spec, netns, ipv4, ipv6 });
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
