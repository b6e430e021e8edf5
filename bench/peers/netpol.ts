// netpol-agent vs kube-router's network policy controller, on the same T2 cluster state.
//
//   (root) KUBECONFIG=.cache/t2/kubeconfig node --import tsx bench/peers/netpol.ts \
//     --kube-router <binary> [--points 100x10,1000x100,5000x500] [--repeat 4] [--resync 30]
//     [--agents kube-router,netpol-agent] [--out .cache/bench/netpol-peers.json] [--keep-state]
//   bench/run.sh netpol-peers does all of it (builds both, starts T2).
//
// --keep-state leaves the last point's objects on T2; a later run whose point matches them (same
// pod and policy counts, all Running) reuses them instead of creating them again.
// Per point (pods × policies) the cluster state of bench/netpol/cluster.ts is created on T2: the
// namespaces, the pods (bound to 50 kwok nodes "peer-1".."peer-50", at most 100 on "peer-1", the node
// both agents run as; kwok gives them Running and a pod IP) and the policies. Then each agent in turn,
// alone on the machine's share of CPU, in a fresh network namespace of its own:
//   - kube-router v2.1.0 firewall-only: --run-firewall --run-router=false --run-service-proxy=false
//     --hostname-override=peer-1 (the smallest change that lets it run against kwok nodes: the node is
//     found by name, its InternalIP comes from the Node object);
//   - netpol-agent run --node-name peer-1 --default-deny=false (kube-router v2.1.0 has no default deny).
// Both reach the API server through the same relay (bench/peers/ns-forward.mjs and a unix socket),
// with the same kubeconfig, service range 10.43.0.0/16 and periodic resync (--resync seconds).
// iptables, ip6tables, their -save/-restore and ipset are wrapped by exec-log (bench/peers/exec-log.c)
// on the agent's PATH: every command, its time and its stdin bytes are logged.
//
// Measured:
//   full sync        process start → end of the last kernel write of the first sync (the agent is
//                    settled: no tool running, no command for 1.5 s, its own CPU idle); also each
//                    agent's own figure for its first sync (kube-router "sync iptables took",
//                    netpol-agent's "sync done" ms);
//   unchanged resync the writes (and bytes) of the first periodic resync, nothing having changed;
//   pod change       PATCH of a pod on peer-1 (tier web ⇄ api) sent → end of the last kernel write;
//   policy change    PATCH of pol-0's port (8080 ⇄ 8081) sent → end of the last kernel write;
//                    changes alternate, so every agent sees the same state; --repeat of each (even);
//   CPU              user + system of the agent's process tree (restore tools included) until the
//                    full sync settled, and until the end;
//   memory           VmRSS of the tree after the full sync settled and at the end; peak VmHWM.
// Writes a series record (bench/src/series.ts) to --out and prints its table.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubeClient, Resources, type KubeClient, type KubeObject } from '@portico/kube';
import type { Namespace, NetworkPolicy, Pod } from '@portico/netpol';
import { cluster } from '../netpol/cluster.ts';
import { parseExecLog, window, type ExecLog } from '../src/execlog.ts';
import { ownCpuMs, treeUsage, type TreeUsage } from '../src/proc.ts';
import { loadAverage, machine, type Plot, type Series } from '../src/series.ts';
import { fmtBytes, fmtMs, summarize } from '../src/stats.ts';
import { stringArg } from '../args.ts';

// ------------------------------------------------------------------------------------------ flags
const flag = (name: string, def: string): string => stringArg(name, def, usage);
function usage(msg: string): never {
  process.stderr.write(`bench/peers/netpol.ts: ${msg}\nusage: node --import tsx bench/peers/netpol.ts --kube-router BIN [--points 100x10,1000x100] [--repeat N(even)] [--resync SECONDS] [--agents kube-router,netpol-agent] [--out FILE]\n`);
  process.exit(2);
}
const POINTS = flag('points', '100x10,1000x100,5000x500')
  .split(',')
  .map((p) => {
    const m = /^(\d+)x(\d+)$/.exec(p);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) usage(`--points: invalid value ${JSON.stringify(p)}: want <pods>x<policies>, e.g. 1000x100`);
    return { pods: Number(m[1]), policies: Number(m[2]) };
  });
const REPEAT = Number(flag('repeat', '4'));
if (!Number.isInteger(REPEAT) || REPEAT < 2 || REPEAT % 2) usage(`--repeat: invalid value ${JSON.stringify(flag('repeat', '4'))}: want an even integer >= 2 (changes alternate and must end where they began)`);
const RESYNC_S = Number(flag('resync', '30'));
if (!Number.isInteger(RESYNC_S) || RESYNC_S < 5) usage(`--resync: invalid value ${JSON.stringify(flag('resync', '30'))}: want whole seconds >= 5`);
const AGENTS = flag('agents', 'kube-router,netpol-agent').split(',');
for (const a of AGENTS) if (a !== 'kube-router' && a !== 'netpol-agent') usage(`--agents: unknown agent ${JSON.stringify(a)} (known: kube-router, netpol-agent)`);
const KUBE_ROUTER = flag('kube-router', '');
if (AGENTS.includes('kube-router') && !existsSync(KUBE_ROUTER)) usage(`--kube-router: ${JSON.stringify(KUBE_ROUTER)} not found (bash tools/k8s/build-tools --tool-dirs kube-router builds it)`);
const AGENT_JS = resolve(flag('agent', 'dist/apps/netpol-agent/main.js'));
if (AGENTS.includes('netpol-agent') && !existsSync(AGENT_JS)) usage(`--agent: ${AGENT_JS} not found (node tools/build-app.mjs netpol-agent)`);
const OUT = flag('out', '.cache/bench/netpol-peers.json');
const KUBECONFIG = process.env.KUBECONFIG;
if (!KUBECONFIG || !existsSync(KUBECONFIG)) usage(`KUBECONFIG: ${JSON.stringify(KUBECONFIG)} is not a file (start T2 with e2e/t2/up)`);
if (process.getuid?.() !== 0) usage('needs root (network namespaces, iptables, ipset)');

const WORK = resolve('.cache/bench/peers');
const NODES = 50;
const LOCAL = 'peer-1';
const LABEL = 'portico.io/bench';
const QUIET_MS = 1500;
const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
const log = (msg: string): void => void process.stderr.write(`bench peers/netpol ${new Date().toISOString().slice(11, 19)} (load ${loadAverage()}): ${msg}\n`);

function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}

/** `--version` output of a binary, stdout and stderr (kube-router prints it on stderr). */
function versionOutput(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

// ------------------------------------------------------------------------------- the exec wrapper
function buildWrappers(): string {
  const bin = `${WORK}/bin`;
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  sh('gcc', ['-O2', '-Wall', '-o', `${WORK}/exec-log`, 'bench/peers/exec-log.c']);
  for (const p of ['iptables', 'ip6tables'])
    for (const v of ['', '-nft', '-legacy'])
      for (const s of ['', '-save', '-restore']) if (existsSync(`/usr/sbin/${p}${v}${s}`)) symlinkSync(`${WORK}/exec-log`, `${bin}/${p}${v}${s}`);
  symlinkSync(`${WORK}/exec-log`, `${bin}/ipset`);
  return bin;
}

// --------------------------------------------------------------------------- the API server relay
/** Host side of the relay: a unix socket that forwards to the API server on 127.0.0.1. */
function hostRelay(apiPort: number, path: string): net.Server {
  rmSync(path, { force: true });
  const server = net.createServer((c) => {
    const t = net.connect(apiPort, '127.0.0.1');
    c.pipe(t).pipe(c);
    const close = (): void => {
      c.destroy();
      t.destroy();
    };
    for (const s of [c, t]) {
      s.on('error', close);
      s.on('close', close);
    }
  });
  server.listen(path);
  return server;
}

// ------------------------------------------------------------------------------ the cluster state
interface Obj extends KubeObject {
  spec?: { nodeName?: string };
}
interface State {
  readonly local: Obj;
  readonly localTier: string;
  readonly policy0: Obj;
}

/** A fixture object as it is created: no status, no uid, the bench label added. */
const strip = (o: Pod | NetworkPolicy | Namespace, extra: Record<string, unknown> = {}): Obj => {
  const { status: _s, ...rest } = o as typeof o & { status?: unknown };
  const md: Record<string, unknown> = { ...o.metadata, labels: { ...o.metadata?.labels, [LABEL]: 'peers' } };
  delete md.uid;
  return { ...rest, metadata: md, ...extra } as Obj;
};

async function pool<T>(items: readonly T[], n: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

async function ensureNodes(kube: KubeClient): Promise<void> {
  const have = new Set((await kube.listAll(Resources.Node)).items.map((n) => n.metadata?.name));
  const missing = Array.from({ length: NODES }, (_, i) => i + 1).filter((i) => !have.has(`peer-${i}`));
  if (missing.length === 0) return;
  log(`creating ${missing.length} kwok nodes peer-*`);
  sh('e2e/t2/add-nodes', ['--prefix', 'peer', '--start', String(missing[0]), '--count', String(NODES - missing[0]! + 1), '--label', `${LABEL}=peers`, '--kubeconfig', KUBECONFIG!, '--timeout', '180']);
}

async function benchNamespaces(kube: KubeClient): Promise<string[]> {
  return (await kube.listAll(Resources.Namespace, { labelSelector: `${LABEL}=peers` })).items.map((n) => n.metadata!.name!);
}

async function clearState(kube: KubeClient): Promise<void> {
  const nss = await benchNamespaces(kube);
  if (nss.length === 0) return;
  log(`deleting ${nss.length} namespaces of the previous point`);
  await pool(nss, 8, (name) => kube.delete(Resources.Namespace, { name }).catch(() => undefined));
  for (let i = 0; (await benchNamespaces(kube)).length > 0; i++) {
    if (i > 600) throw new Error('bench namespaces still present after 10 minutes');
    await sleep(1000);
  }
}

async function createState(kube: KubeClient, pods: number, policies: number): Promise<State> {
  const snap = cluster(pods, policies, Math.min(100, pods));
  const have = await kube.listAll<KubeObject & { status?: { phase?: string; podIP?: string } }>(Resources.Pod, { labelSelector: `${LABEL}=peers` });
  const havePolicies = (await kube.listAll(Resources.NetworkPolicy, { labelSelector: `${LABEL}=peers` })).items.length;
  const reuse = have.items.length === pods && havePolicies === policies && have.items.every((p) => p.status?.phase === 'Running' && p.status.podIP);
  if (!reuse) await clearState(kube);
  const nodeOf = (n: string): string => (n === 'n1' ? LOCAL : `peer-${2 + ((Number(n.slice(1)) - 2) % (NODES - 1))}`);
  const podObjs = snap.pods.map((p) =>
    strip(p, {
      spec: {
        nodeName: nodeOf(p.spec!.nodeName!),
        containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10.1', ports: p.spec!.containers![0]!.ports }],
      },
    }),
  );
  const t0 = Date.now();
  if (reuse) log(`reusing the ${pods} pods and ${policies} policies already on T2 (a previous run's, same generator)`);
  else await pool(snap.namespaces, 8, (o) => kube.create(Resources.Namespace, strip(o)));
  if (!reuse) await pool(podObjs, 16, (o) => kube.create(Resources.Pod, o, { namespace: o.metadata!.namespace }));
  if (!reuse) await pool(snap.networkPolicies, 8, (o) => kube.create(Resources.NetworkPolicy, strip(o), { namespace: o.metadata!.namespace }));
  for (let i = 0; ; i++) {
    const items = (await kube.listAll<KubeObject & { status?: { phase?: string; podIP?: string } }>(Resources.Pod, { labelSelector: `${LABEL}=peers` })).items;
    const running = items.filter((p) => p.status?.phase === 'Running' && p.status.podIP).length;
    if (running === pods) break;
    if (i > 300) throw new Error(`only ${running} of ${pods} pods Running with an IP after 10 minutes (kwok)`);
    await sleep(2000);
  }
  if (!reuse) log(`created ${snap.namespaces.length} namespaces, ${pods} pods (Running), ${policies} policies in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const local = podObjs.find((p) => p.spec!.nodeName === LOCAL && p.metadata!.labels!.tier === 'web')!;
  return { local, localTier: 'web', policy0: strip(snap.networkPolicies[0]!) };
}

// ------------------------------------------------------------------------------------ one agent run
interface AgentRun {
  readonly agent: string;
  readonly pods: number;
  readonly policies: number;
  readonly load: number;
  readonly fullMs: number;
  readonly ownFirstSyncMs: number;
  readonly fullWrites: number;
  readonly fullIptablesBytes: number;
  readonly fullIpsetBytes: number;
  readonly resync: { writes: number; reads: number; bytes: number } | undefined;
  readonly podMs: number[];
  readonly policyMs: number[];
  readonly podWrites: number[];
  readonly podBytes: number[];
  readonly policyWrites: number[];
  readonly policyBytes: number[];
  readonly atFull: TreeUsage;
  readonly atEnd: TreeUsage;
  readonly failedCommands: number;
}

class Agent {
  readonly logPath: string;
  readonly outPath: string;
  readonly ns: string;
  proc!: ChildProcess;
  relay!: ChildProcess;
  startUs = 0;

  readonly name: string;
  readonly bin: string;
  readonly sock: string;
  readonly apiPort: number;

  constructor(name: string, bin: string, sock: string, apiPort: number) {
    this.name = name;
    this.bin = bin;
    this.sock = sock;
    this.apiPort = apiPort;
    this.ns = `peers-${name}-${process.pid}`;
    this.logPath = `${WORK}/${name}.exec.log`;
    this.outPath = `${WORK}/${name}.out.log`;
  }

  command(): string[] {
    if (this.name === 'kube-router') {
      return [KUBE_ROUTER, `--kubeconfig=${KUBECONFIG}`, `--hostname-override=${LOCAL}`, '--run-firewall=true', '--run-router=false', '--run-service-proxy=false', '--enable-cni=false', '--enable-ipv4=true', '--enable-ipv6=false', '--health-port=0', '--metrics-port=0', '--service-cluster-ip-range=10.43.0.0/16', `--iptables-sync-period=${RESYNC_S}s`, '-v=1'];
    }
    return [process.execPath, AGENT_JS, 'run', '--node-name', LOCAL, '--kubeconfig', KUBECONFIG!, '--metrics-addr', '0', '--families', 'IPv4', '--default-deny', 'false', '--service-cidrs', '10.43.0.0/16', '--resync-period', `${RESYNC_S}s`, '--log-level', 'info'];
  }

  async start(): Promise<void> {
    sh('ip', ['netns', 'add', this.ns]);
    sh('ip', ['netns', 'exec', this.ns, 'ip', 'link', 'set', 'lo', 'up']);
    this.relay = spawn('ip', ['netns', 'exec', this.ns, process.execPath, 'bench/peers/ns-forward.mjs', String(this.apiPort), this.sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      this.relay.stdout!.once('data', () => ok());
      this.relay.once('exit', (c) => fail(new Error(`ns-forward exited ${c}`)));
    });
    writeFileSync(this.logPath, '');
    const out = createWriteStream(this.outPath);
    this.startUs = nowUs();
    this.proc = spawn('ip', ['netns', 'exec', this.ns, 'env', `PATH=${this.bin}:${process.env.PATH}`, `EXEC_LOG=${this.logPath}`, ...this.command()], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.pipe(out);
    this.proc.stderr!.pipe(out);
    this.proc.once('exit', (code, sig) => {
      if (!this.stopping) log(`${this.name} exited early (${code ?? sig}); its output: ${this.outPath}`);
    });
  }

  stopping = false;

  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of [this.proc, this.relay]) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill('SIGTERM');
      const exited = await Promise.race([new Promise((ok) => p.once('exit', ok)), sleep(10_000, 'timeout')]);
      if (exited === 'timeout') p.kill('SIGKILL');
    }
    sh('ip', ['netns', 'del', this.ns], { allowFail: true });
  }

  alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  execLog(): ExecLog {
    return parseExecLog(readFileSync(this.logPath, 'utf8'));
  }

  /**
   * Waits until the agent is settled after `sinceUs`: something (`need`) happened after it, no tool
   * is running, nothing ran for QUIET_MS and the agent's own CPU was idle meanwhile.
   */
  async settle(sinceUs: number, need: 'write' | 'any', timeoutMs: number): Promise<ExecLog> {
    const deadline = Date.now() + timeoutMs;
    let cpu = ownCpuMs(this.proc.pid!);
    let cpuAt = Date.now();
    for (;;) {
      if (!this.alive()) throw new Error(`${this.name} exited (see ${this.outPath})`);
      if (Date.now() > deadline) throw new Error(`${this.name}: not settled after ${timeoutMs / 1000} s (waiting for ${need === 'write' ? 'a kernel write' : 'a kernel read or write'})`);
      await sleep(100);
      const l = this.execLog();
      const w = window(l, sinceUs);
      const happened = need === 'write' ? w.writes > 0 : w.writes + w.reads > 0;
      const c = ownCpuMs(this.proc.pid!);
      if (!happened || l.running > 0 || nowUs() - l.lastActivityUs < QUIET_MS * 1000) {
        cpu = c;
        cpuAt = Date.now();
        continue;
      }
      if (Date.now() - cpuAt < QUIET_MS) continue;
      // Busy in its own code (e.g. between ipset and iptables-restore): not settled.
      if (c - cpu > 0.05 * (Date.now() - cpuAt)) {
        cpu = c;
        cpuAt = Date.now();
        continue;
      }
      return l;
    }
  }

  /**
   * Syncs the agent has reported finished so far: kube-router's `sync iptables took` lines (-v=1),
   * netpol-agent's `sync` events at info (a sync that changed the kernel, or failed).
   */
  syncsReported(): number {
    const out = readFileSync(this.outPath, 'utf8');
    return (out.match(this.name === 'kube-router' ? /sync iptables took/g : /"event":"sync"/g) ?? []).length;
  }

  /** Waits until the agent reports more than `n` finished syncs. */
  async syncReported(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.syncsReported() <= n) {
      if (!this.alive()) throw new Error(`${this.name} exited (see ${this.outPath})`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no finished sync reported after ${timeoutMs / 1000} s (see ${this.outPath})`);
      await sleep(50);
    }
  }

  ownFirstSyncMs(): number {
    const out = readFileSync(this.outPath, 'utf8');
    if (this.name === 'kube-router') {
      const m = /sync iptables took ([\d.]+)(ms|s|µs|us|m)/.exec(out);
      if (!m) return NaN;
      const v = Number(m[1]);
      return m[2] === 's' ? v * 1000 : m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v / 1000;
    }
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const j = JSON.parse(line) as { event?: string; reason?: string; ms?: number };
      if (j.event === 'sync' && j.reason === 'initial') return j.ms ?? NaN;
    }
    return NaN;
  }
}

async function runAgent(kube: KubeClient, a: Agent, state: State, pods: number, policies: number): Promise<AgentRun> {
  const load = loadAverage();
  await a.start();
  const timeout = 20 * 60_000;
  // The first sync is over when the agent says so (a write alone is not enough: kube-router writes
  // its top-level chains before its informers have listed the cluster), and then nothing follows.
  await a.syncReported(0, timeout);
  let l = await a.settle(a.startUs, 'write', timeout);
  const full = window(l, a.startUs);
  const fullEnd = nowUs();
  const atFull = treeUsage(a.proc.pid!);
  log(`${a.name}: full sync ${fmtMs((full.lastWriteEndUs - a.startUs) / 1000)}, ${full.writes} writes, RSS ${fmtBytes(atFull.rssBytes)}`);

  // The first periodic resync, nothing changed.
  let resync: AgentRun['resync'];
  const waitMs = RESYNC_S * 1000 - (nowUs() - a.startUs) / 1000 + 500;
  if (waitMs > 0) await sleep(waitMs);
  try {
    l = await a.settle(fullEnd, 'any', RESYNC_S * 3000 + timeout);
    const w = window(l, fullEnd);
    resync = { writes: w.writes, reads: w.reads, bytes: w.iptablesBytes + w.ipsetBytes };
    log(`${a.name}: unchanged resync: ${w.writes} writes, ${w.reads} reads`);
  } catch (e) {
    log(`${a.name}: no periodic resync seen: ${(e as Error).message}`);
  }

  const change = async (what: string, f: (k: number) => Promise<unknown>): Promise<{ ms: number[]; writes: number[]; bytes: number[] }> => {
    const r = { ms: [] as number[], writes: [] as number[], bytes: [] as number[] };
    for (let k = 0; k < REPEAT; k++) {
      await sleep(1200);
      const syncs = a.syncsReported();
      const t0 = nowUs();
      await f(k);
      await a.syncReported(syncs, timeout);
      const after = await a.settle(t0, 'write', timeout);
      const w = window(after, t0);
      r.ms.push((w.lastWriteEndUs - t0) / 1000);
      r.writes.push(w.writes);
      r.bytes.push(w.iptablesBytes + w.ipsetBytes);
    }
    log(`${a.name}: ${what} change ${r.ms.map((x) => fmtMs(x)).join(', ')}`);
    return r;
  };
  const p = state.local.metadata!;
  const pod = await change('pod', (k) => kube.patch(Resources.Pod, { namespace: p.namespace, name: p.name! }, { metadata: { labels: { tier: k % 2 ? state.localTier : 'api' } } }, { type: 'merge' }));
  const pm = state.policy0.metadata!;
  const pol = await change('policy', (k) =>
    kube.patch(Resources.NetworkPolicy, { namespace: pm.namespace, name: pm.name! }, { spec: { ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: k % 2 ? 8080 : 8081 }] }] } }, { type: 'merge' }),
  );
  const atEnd = treeUsage(a.proc.pid!);
  const failedCommands = window(a.execLog(), 0).failed;
  await a.stop();
  return {
    agent: a.name,
    pods,
    policies,
    load,
    fullMs: (full.lastWriteEndUs - a.startUs) / 1000,
    ownFirstSyncMs: a.ownFirstSyncMs(),
    fullWrites: full.writes,
    fullIptablesBytes: full.iptablesBytes,
    fullIpsetBytes: full.ipsetBytes,
    resync,
    podMs: pod.ms,
    policyMs: pol.ms,
    podWrites: pod.writes,
    podBytes: pod.bytes,
    policyWrites: pol.writes,
    policyBytes: pol.bytes,
    atFull,
    atEnd,
    failedCommands,
  };
}

// ------------------------------------------------------------------------------------------- main
const kube = await createKubeClient({ kubeconfig: KUBECONFIG, env: process.env });
const apiPort = Number(new URL(kube.server).port);
mkdirSync(WORK, { recursive: true });
const bin = buildWrappers();
const sock = `${WORK}/api.sock`;
const relay = hostRelay(apiPort, sock);
const started = new Date().toISOString();
const load0 = loadAverage();
const runs: AgentRun[] = [];
const krVersion = AGENTS.includes('kube-router') ? (versionOutput(KUBE_ROUTER).match(/v\d+\.\d+\.\d+/)?.[0] ?? 'unknown') : 'not run';
try {
  await ensureNodes(kube);
  for (const { pods, policies } of POINTS) {
    const state = await createState(kube, pods, policies);
    for (const name of AGENTS) {
      log(`${pods} pods × ${policies} policies: ${name}`);
      runs.push(await runAgent(kube, new Agent(name, bin, sock, apiPort), state, pods, policies));
    }
  }
  if (!process.argv.includes('--keep-state')) await clearState(kube);
} finally {
  relay.close();
}
runs.sort((a, b) => a.pods - b.pods || a.policies - b.policies || a.agent.localeCompare(b.agent));

// ----------------------------------------------------------------------------------------- report
const label = (a: string): string => (a === 'kube-router' ? `kube-router ${krVersion}` : 'netpol-agent');
const med = (xs: number[]): number => summarize(xs).median;
const rows = runs.map((r) => {
  const pod = summarize(r.podMs);
  const pol = summarize(r.policyMs);
  return [
    `${r.pods.toLocaleString('en')} × ${r.policies}`,
    r.agent === 'netpol-agent' ? '**netpol-agent**' : label(r.agent),
    fmtMs(r.fullMs),
    fmtMs(r.ownFirstSyncMs),
    `${r.fullWrites} / ${fmtBytes(r.fullIptablesBytes)} + ${fmtBytes(r.fullIpsetBytes)}`,
    r.resync ? `${r.resync.writes} / ${fmtBytes(r.resync.bytes)} (${r.resync.reads} reads)` : 'not seen',
    `${fmtMs(pod.median)} / ${fmtMs(pod.p99)}`,
    `${fmtMs(pol.median)} / ${fmtMs(pol.p99)}`,
    `${med(r.podWrites)} / ${fmtBytes(med(r.podBytes))}; ${med(r.policyWrites)} / ${fmtBytes(med(r.policyBytes))}`,
    `${(r.atFull.cpuMs / 1000).toFixed(2)} s / ${(r.atEnd.cpuMs / 1000).toFixed(2)} s`,
    `${fmtBytes(r.atFull.rssBytes)} / ${fmtBytes(r.atEnd.rssBytes)} / ${fmtBytes(r.atEnd.hwmBytes)}`,
    String(r.load),
  ];
});

const by = (agent: string): AgentRun[] => runs.filter((r) => r.agent === agent);
const plot = (file: string, title: string, y: string, f: (r: AgentRun) => number): Plot => ({
  file,
  title,
  x: { title: `pods (policies: ${POINTS.map((p) => `${p.policies} at ${p.pods.toLocaleString('en')}`).join(', ')})`, log: true },
  y: { title: y, log: true },
  points: runs.filter((r) => f(r) > 0).map((r) => ({ x: r.pods, y: Math.round(f(r) * 100) / 100, series: label(r.agent) })),
});

const findings: string[] = [];
for (const { pods, policies } of [...POINTS].sort((a, b) => a.pods - b.pods || a.policies - b.policies)) {
  const kr = runs.find((r) => r.agent === 'kube-router' && r.pods === pods && r.policies === policies);
  const np = runs.find((r) => r.agent === 'netpol-agent' && r.pods === pods && r.policies === policies);
  if (!kr || !np) continue;
  const ratio = kr.fullMs / np.fullMs;
  const own = kr.ownFirstSyncMs / np.ownFirstSyncMs;
  findings.push(
    `${pods.toLocaleString('en')} × ${policies}: full sync kube-router / netpol-agent = ${ratio.toFixed(1)} from process start, ${own.toFixed(1)} by each agent's own figure (goal ≥ 10: ${Math.max(ratio, own) >= 10 ? 'met' : 'not met'}); ` +
      `pod change ${fmtMs(med(np.podMs))} vs ${fmtMs(med(kr.podMs))}, policy change ${fmtMs(med(np.policyMs))} vs ${fmtMs(med(kr.policyMs))}; ` +
      `unchanged resync writes ${np.resync?.writes ?? '?'} vs ${kr.resync?.writes ?? '?'}; ` +
      `memory ${fmtBytes(np.atEnd.rssBytes)} vs ${fmtBytes(kr.atEnd.rssBytes)} (${np.atEnd.rssBytes < kr.atEnd.rssBytes ? 'less' : 'not less'}); ` +
      `CPU to the end of the run ${(np.atEnd.cpuMs / 1000).toFixed(2)} s vs ${(kr.atEnd.cpuMs / 1000).toFixed(2)} s.`,
  );
}
const big = by('netpol-agent').find((r) => r.pods === 5000 && r.policies === 500);
if (big) {
  const worst = Math.max(med(big.podMs), med(big.policyMs));
  findings.push(`Incremental at 5,000 × 500 (goal < 15 ms, change sent → rules in the kernel, API write and watch delivery included): pod ${fmtMs(med(big.podMs))}, policy ${fmtMs(med(big.policyMs))}: ${worst < 15 ? 'met' : 'not met'}.`);
}
const failed = runs.filter((r) => r.failedCommands > 0);
if (failed.length) findings.push(`Commands that exited non-zero (the agents' own checks, e.g. \`iptables -C\`, or failures): ${failed.map((r) => `${r.agent} ${r.pods}×${r.policies}: ${r.failedCommands}`).join(', ')}.`);

const series: Series = {
  name: 'netpol-peers',
  title: 'netpol-agent vs kube-router: the same T2 cluster state, side by side',
  command: `bash bench/run.sh netpol-peers   # = node --import tsx bench/peers/netpol.ts --points ${POINTS.map((p) => `${p.pods}x${p.policies}`).join(',')} --repeat ${REPEAT} --resync ${RESYNC_S}`,
  machine: machine(),
  started,
  finished: new Date().toISOString(),
  loadAverage: [load0, loadAverage()],
  versions: { 'netpol-agent': sh('git', ['rev-parse', '--short', 'HEAD']).trim(), 'kube-router': `${krVersion} (github.com/cloudnativelabs/kube-router/v2, built by tools/k8s/build-tools)`, Kubernetes: 'T2 control plane (tools/k8s/versions.env), kwok nodes' },
  repetitions: REPEAT,
  method: [
    'Each agent runs alone, in a fresh network namespace, against the same T2 cluster state (bench/netpol/cluster.ts: namespaces of 50 pods, five policy shapes; pods on 50 kwok nodes, at most 100 on `peer-1`, the node both agents run as; kwok sets them Running with pod IPs). kube-router runs its network policy controller only (`--run-firewall --run-router=false --run-service-proxy=false --enable-cni=false`); the one workaround for kwok is `--hostname-override=peer-1` (the Node object supplies its IP). netpol-agent runs with `--default-deny=false` (kube-router v2.1.0 has no default deny). Both: IPv4, service range 10.43.0.0/16, periodic resync ' + `${RESYNC_S} s, the same kubeconfig through the same relay into the namespace.`,
    'Every iptables/ipset command either agent runs goes through a logging wrapper on its PATH (bench/peers/exec-log.c: time, stdin bytes; one extra fork per command for both). **full sync** = process start → end of the last kernel write of the first sync (the agent then idle for 1.5 s); **own** = the agent\'s own figure for that sync (kube-router `sync iptables took`, netpol-agent `sync done` ms). **writes / bytes** = commands that change the kernel / stdin bytes to iptables-restore + ipset. **pod change** (a pod on `peer-1` relabelled, tier web ⇄ api) and **policy change** (pol-0\'s port 8080 ⇄ 8081): PATCH sent → end of the last kernel write, median / p99, API write and watch delivery included. **CPU**: user + system of the agent\'s process tree (the restore tools included) at the end of the full sync / of the run. **RSS**: the tree\'s VmRSS after the full sync / at the end / peak VmHWM.',
  ],
  columns: ['pods × policies', 'agent', 'full sync', 'own', 'full sync: writes / iptables + ipset bytes', 'unchanged resync: writes / bytes', 'pod change median / p99', 'policy change median / p99', 'change writes / bytes (pod; policy)', 'CPU: full sync / run', 'RSS: after sync / end / peak', 'load'],
  rows,
  findings,
  plots: [
    plot('netpol-peers-full-sync.svg', 'Full sync: start → rules in the kernel', 'ms (log)', (r) => r.fullMs),
    plot('netpol-peers-policy-change.svg', 'Policy change → rules in the kernel (median)', 'ms (log)', (r) => med(r.policyMs)),
    plot('netpol-peers-pod-change.svg', 'Pod relabel → rules in the kernel (median)', 'ms (log)', (r) => med(r.podMs)),
    plot('netpol-peers-rss.svg', 'Resident memory at the end of the run', 'MiB (log)', (r) => r.atEnd.rssBytes / 2 ** 20),
    plot('netpol-peers-cpu.svg', 'CPU time (user + system) of the whole run', 's (log)', (r) => r.atEnd.cpuMs / 1000),
  ],
  raw: runs,
};
mkdirSync('.cache/bench', { recursive: true });
writeFileSync(OUT, JSON.stringify(series, null, 1));
process.stdout.write(`| ${series.columns.join(' | ')} |\n|${series.columns.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n${findings.join('\n')}\n`);
log(`series written to ${OUT}`);
