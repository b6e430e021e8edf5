// lb-forwarder vs klipper-lb's entry script, in the same kind of network namespaces.
//
//   (root) node --import tsx bench/peers/lb.ts --klipper-entry FILE [--repeat 5] [--seconds 3]
//          [--out .cache/bench/lb-peers.json]
//   bench/run.sh lb-peers does all of it (builds lb-forwarder, fetches klipper-lb's entry into .cache).
//
// Topology per candidate (fresh each time): client ns (10.77.1.2) — lb ns (10.77.1.1 | 10.77.2.1,
// forwarding on) — backend ns (10.77.2.2), veth pairs, routes via the lb ns. The candidate runs in the
// lb ns with SRC_PORT=DEST_PORT=5201, DEST_PROTO=TCP, DEST_IPS=10.77.2.2, SRC_RANGES=0.0.0.0/0.
//   - direct path: client → 10.77.2.2 on a port no rule matches (5301 for iperf3, 5202 for the echo
//     server), forwarded through the lb ns with the candidate's rules (and conntrack) in place;
//   - through the candidate: client → 10.77.1.1:5201, DNAT to the backend, MASQUERADE;
//     direct and through alternate run by run;
//   - throughput: iperf3 -t <seconds>, received bits/s; latency: bench/peers/tcp-rr.mjs, 1-byte
//     request/answer round trips on one connection (median, p99); each --repeat times, the ratio
//     is through / direct (throughput) and direct / through (latency), goal ≥ 0.95 for both;
//   - start → rules applied: spawn → the candidate says it is done (lb-forwarder's "handoff" log
//     event; klipper-lb's `set -x` trace reaching the `/pause` test that follows its last iptables
//     call), the nat/filter rules then counted with iptables-save (both backends);
//   - steady memory: VmRSS of the process tree 1 s after that, sampled for --seconds;
//   - restart: SIGTERM, then the same candidate again in the same namespace; rules counted again.
// klipper-lb's entry is upstream's script, unmodified, run by busybox sh (its image runs busybox
// ash) in a private mount namespace whose /usr/sbin is an overlay: the script relinks
// /usr/sbin/iptables* and must not change the host's. It creates /pause on the host's root
// filesystem (removed at the end). Writes a series record to --out and prints its table.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { treeUsage } from '../src/proc.ts';
import { loadAverage, machine, type Series } from '../src/series.ts';
import { fmtBytes, summarize } from '../src/stats.ts';
import { stringArg } from '../args.ts';

const flag = (name: string, def: string): string => stringArg(name, def, usage);
function usage(msg: string): never {
  process.stderr.write(`bench/peers/lb.ts: ${msg}\nusage: node --import tsx bench/peers/lb.ts --klipper-entry FILE [--repeat N] [--seconds S] [--out FILE]\n`);
  process.exit(2);
}
const ENTRY = resolve(flag('klipper-entry', ''));
if (!existsSync(ENTRY)) usage(`--klipper-entry: ${JSON.stringify(flag('klipper-entry', ''))} not found (klipper-lb's entry script; bench/run.sh lb-peers fetches it)`);
const REPEAT = Number(flag('repeat', '5'));
if (!Number.isInteger(REPEAT) || REPEAT < 1) usage(`--repeat: invalid value ${JSON.stringify(flag('repeat', '5'))}: want a positive integer`);
const SECONDS = Number(flag('seconds', '3'));
if (!Number.isInteger(SECONDS) || SECONDS < 1) usage(`--seconds: invalid value ${JSON.stringify(flag('seconds', '3'))}: want a positive integer`);
const OUT = flag('out', '.cache/bench/lb-peers.json');
if (!existsSync(`${ENTRY}.source`)) usage(`${ENTRY}.source not found: one line naming where the script came from (repository and commit); bench/run.sh lb-peers writes it`);
const ENTRY_SOURCE = readFileSync(`${ENTRY}.source`, 'utf8').trim();
const MAIN_JS = resolve('dist/apps/lb-forwarder/main.js');
if (!existsSync(MAIN_JS)) usage(`${MAIN_JS} not found (node tools/build-app.mjs lb-forwarder)`);
if (process.getuid?.() !== 0) usage('needs root (network namespaces, iptables)');
for (const c of ['iperf3', 'busybox', 'ip']) if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) usage(`${c} not found (apt-get install iperf3 busybox iproute2)`);

const WORK = resolve('.cache/bench/peers');
const log = (msg: string): void => void process.stderr.write(`bench peers/lb ${new Date().toISOString().slice(11, 19)} (load ${loadAverage()}): ${msg}\n`);
function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.error?.message}`);
  return r.stdout ?? '';
}
const inNs = (ns: string, ...argv: string[]): string => sh('ip', ['netns', 'exec', ns, ...argv]);

// ------------------------------------------------------------------------------------- topology
interface Topo {
  readonly c: string;
  readonly l: string;
  readonly b: string;
}
function topology(tag: string): Topo {
  const t = { c: `lbp-c-${tag}`, l: `lbp-l-${tag}`, b: `lbp-b-${tag}` };
  for (const n of Object.values(t)) {
    sh('ip', ['netns', 'del', n], true);
    sh('ip', ['netns', 'add', n]);
    inNs(n, 'ip', 'link', 'set', 'lo', 'up');
  }
  sh('ip', ['link', 'add', 'lbpc0', 'netns', t.c, 'type', 'veth', 'peer', 'name', 'lbpl0', 'netns', t.l]);
  sh('ip', ['link', 'add', 'lbpl1', 'netns', t.l, 'type', 'veth', 'peer', 'name', 'lbpb0', 'netns', t.b]);
  inNs(t.c, 'ip', 'addr', 'add', '10.77.1.2/24', 'dev', 'lbpc0');
  inNs(t.l, 'ip', 'addr', 'add', '10.77.1.1/24', 'dev', 'lbpl0');
  inNs(t.l, 'ip', 'addr', 'add', '10.77.2.1/24', 'dev', 'lbpl1');
  inNs(t.b, 'ip', 'addr', 'add', '10.77.2.2/24', 'dev', 'lbpb0');
  for (const [n, d] of [[t.c, 'lbpc0'], [t.l, 'lbpl0'], [t.l, 'lbpl1'], [t.b, 'lbpb0']] as const) inNs(n, 'ip', 'link', 'set', d, 'up');
  inNs(t.c, 'ip', 'route', 'add', 'default', 'via', '10.77.1.1');
  inNs(t.b, 'ip', 'route', 'add', 'default', 'via', '10.77.2.1');
  inNs(t.l, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  return t;
}
function teardown(t: Topo): void {
  for (const n of Object.values(t)) sh('ip', ['netns', 'del', n], true);
}

// ------------------------------------------------------------------------------------ traffic
function iperf(t: Topo, target: string, port: number): number {
  const out = inNs(t.c, 'iperf3', '-c', target, '-p', String(port), '-t', String(SECONDS), '-J');
  return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
}
function rr(t: Topo, target: string, port: number): number[] {
  return JSON.parse(inNs(t.c, process.execPath, 'bench/peers/tcp-rr.mjs', 'client', target, String(port), '2000')) as number[];
}
/** Backend servers: iperf3 on 5201 (behind the candidate) and 5301 (direct), the echo server on 5202. */
async function servers(t: Topo): Promise<ChildProcess[]> {
  const ips = ['5201', '5301'].map((p) => spawn('ip', ['netns', 'exec', t.b, 'iperf3', '-s', '-p', p], { stdio: 'ignore' }));
  const echo = spawn('ip', ['netns', 'exec', t.b, process.execPath, 'bench/peers/tcp-rr.mjs', 'server', '5202'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok) => echo.stdout!.once('data', ok));
  await sleep(300);
  return [...ips, echo];
}
interface Traffic {
  readonly bps: number[];
  readonly rttUs: number[];
}

// ---------------------------------------------------------------------------------- candidates
interface Candidate {
  readonly name: string;
  readonly argv: (t: Topo) => string[];
  readonly env: Record<string, string>;
  readonly done: (out: string) => boolean;
}
function envFor(destPort: number): Record<string, string> {
  return { SRC_PORT: '5201', SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: String(destPort), DEST_IPS: '10.77.2.2' };
}
const overlay = `${WORK}/klipper-usr-sbin`;
const CANDIDATES: Candidate[] = [
  { name: 'Portico lb-forwarder', argv: () => [process.execPath, MAIN_JS], env: {}, done: (out) => out.includes('"event":"handoff"') },
  {
    name: 'klipper-lb entry (upstream, busybox sh)',
    // A private mount namespace with /usr/sbin as an overlay, so `ln -sf ... /usr/sbin/iptables` stays in it.
    argv: () => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=${overlay}/up,workdir=${overlay}/work /usr/sbin && exec busybox sh "$0"`, ENTRY],
    env: {},
    done: (out) => /-e \/pause/.test(out),
  },
];

interface Started {
  readonly proc: ChildProcess;
  readonly ms: number;
  out: string;
}
async function start(c: Candidate, t: Topo, destPort: number): Promise<Started> {
  rmSync(`${overlay}`, { recursive: true, force: true });
  mkdirSync(`${overlay}/up`, { recursive: true });
  mkdirSync(`${overlay}/work`, { recursive: true });
  const t0 = performance.now();
  const proc = spawn('ip', ['netns', 'exec', t.l, ...c.argv(t)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...c.env, ...envFor(destPort) } });
  const s: Started = { proc, ms: NaN, out: '' };
  let doneAt = NaN;
  const on = (d: Buffer): void => {
    s.out += d.toString();
    if (Number.isNaN(doneAt) && c.done(s.out)) doneAt = performance.now();
  };
  proc.stdout!.on('data', on);
  proc.stderr!.on('data', on);
  const deadline = Date.now() + 30_000;
  while (Number.isNaN(doneAt)) {
    if (proc.exitCode !== null) throw new Error(`${c.name} exited ${proc.exitCode} before applying its rules:\n${s.out}`);
    if (Date.now() > deadline) throw new Error(`${c.name}: no rules after 30 s:\n${s.out}`);
    await sleep(5);
  }
  return { ...s, ms: doneAt - t0 };
}
async function stop(s: Started): Promise<number | null> {
  s.proc.kill('SIGTERM');
  const code = await Promise.race([new Promise<number | null>((ok) => s.proc.once('exit', (c) => ok(c))), sleep(5000, 'timeout' as const)]);
  if (code === 'timeout') {
    s.proc.kill('SIGKILL');
    return null;
  }
  return code;
}
/** Rules in the lb ns (nat + filter), both iptables backends. */
function rules(t: Topo): number {
  let n = 0;
  for (const save of ['iptables-nft-save', 'iptables-legacy-save']) {
    const out = sh('ip', ['netns', 'exec', t.l, save], true);
    n += out.split('\n').filter((l) => l.startsWith('-A ')).length;
  }
  return n;
}

interface Result {
  readonly name: string;
  readonly load: number;
  readonly startMs: number[];
  readonly rules: number;
  readonly rulesAfterRestart: number;
  readonly rssBytes: number[];
  readonly processes: number;
  readonly sigtermExit: number | null;
  readonly direct: Traffic;
  readonly through: Traffic;
}

async function measure(c: Candidate, i: number): Promise<Result> {
  const t = topology(String(i));
  const srv = await servers(t);
  try {
    const load = loadAverage();
    // Throughput: the candidate forwards SRC_PORT 5201 to the backend's 5201; the direct path goes to
    // the backend's 5301 (matches no rule), alternating run by run so both see the same neighbours.
    const s = await start(c, t, 5201);
    const startMs = [s.ms];
    await sleep(1000);
    const rssBytes: number[] = [];
    let processes = 0;
    for (let k = 0; k < SECONDS * 5; k++) {
      const u = treeUsage(s.proc.pid!);
      rssBytes.push(u.rssBytes);
      processes = Math.max(processes, u.processes);
      await sleep(200);
    }
    const n1 = rules(t);
    log(`${c.name}: rules applied in ${s.ms.toFixed(0)} ms, ${n1} rules; throughput, direct and through it`);
    const direct: Traffic = { bps: [], rttUs: [] };
    const through: Traffic = { bps: [], rttUs: [] };
    for (let k = 0; k < REPEAT; k++) {
      direct.bps.push(iperf(t, '10.77.2.2', 5301));
      through.bps.push(iperf(t, '10.77.1.1', 5201));
    }
    const sigtermExit = await stop(s);
    // Restart in the same namespace (same environment): rules after the second run.
    const s2 = await start(c, t, 5201);
    startMs.push(s2.ms);
    const n2 = rules(t);
    await stop(s2);
    // Latency: a fresh lb ns state (both backends flushed), the candidate forwarding 5201 to the echo
    // server's 5202; the direct path goes to 5202 itself (matches no rule).
    for (const r of ['iptables-nft', 'iptables-legacy']) {
      for (const table of ['nat', 'filter']) sh('ip', ['netns', 'exec', t.l, r, '-t', table, '-F'], true);
      for (const table of ['nat', 'filter']) sh('ip', ['netns', 'exec', t.l, r, '-t', table, '-X'], true);
    }
    const s3 = await start(c, t, 5202);
    startMs.push(s3.ms);
    log(`${c.name}: latency, direct and through it`);
    for (let k = 0; k < REPEAT; k++) {
      direct.rttUs.push(...rr(t, '10.77.2.2', 5202));
      through.rttUs.push(...rr(t, '10.77.1.1', 5201));
    }
    await stop(s3);
    return { name: c.name, load, startMs, rules: n1, rulesAfterRestart: n2, rssBytes, processes, sigtermExit, direct, through };
  } finally {
    for (const p of srv) p.kill('SIGKILL');
    teardown(t);
  }
}

mkdirSync(WORK, { recursive: true });
const started = new Date().toISOString();
const load0 = loadAverage();
const results: Result[] = [];
try {
  for (const [i, c] of CANDIDATES.entries()) results.push(await measure(c, i));
} finally {
  if (existsSync('/pause')) rmSync('/pause', { force: true });
}

const med = (xs: number[]): number => summarize(xs).median;
const gbit = (b: number): string => `${(b / 1e9).toFixed(2)} Gbit/s`;
const us = (x: number): string => `${x.toFixed(0)} µs`;
const rows = results.map((r) => {
  const d = summarize(r.direct.rttUs);
  const th = summarize(r.through.rttUs);
  const rss = summarize(r.rssBytes);
  return [
    r.name,
    `${fmtBytes(rss.median)} (max ${fmtBytes(rss.max)}), ${r.processes} process${r.processes > 1 ? 'es' : ''}`,
    `${med(r.startMs).toFixed(0)} ms (${r.startMs.map((x) => x.toFixed(0)).join(', ')})`,
    `${r.rules} → ${r.rulesAfterRestart}`,
    `${gbit(med(r.through.bps))} / ${gbit(med(r.direct.bps))} = **${(med(r.through.bps) / med(r.direct.bps)).toFixed(2)}**`,
    `${us(th.median)} / ${us(d.median)} = **${(d.median / th.median).toFixed(2)}**`,
    `${us(th.p99)} / ${us(d.p99)}`,
    String(r.sigtermExit ?? 'none in 5 s'),
    String(r.load),
  ];
});
const findings = results.map((r) => {
  const tp = med(r.through.bps) / med(r.direct.bps);
  const lat = summarize(r.direct.rttUs).median / summarize(r.through.rttUs).median;
  return `${r.name}: steady RSS ${fmtBytes(med(r.rssBytes))}${r.name.startsWith('Portico') ? ` (goal ≤ 2 MiB: ${med(r.rssBytes) <= 2 * 2 ** 20 ? 'met' : 'not met'})` : ''}; throughput ${tp.toFixed(2)} and latency ${lat.toFixed(2)} of the direct path (goal ≥ 0.95: ${tp >= 0.95 && lat >= 0.95 ? 'met' : 'not met'}); a restart in the same namespace leaves ${r.rulesAfterRestart} rules where the first run installed ${r.rules}.`;
});
const series: Series = {
  name: 'lb-peers',
  title: 'lb-forwarder vs klipper-lb: memory, start, restart, DNAT throughput and latency',
  command: `bash bench/run.sh lb-peers   # = node --import tsx bench/peers/lb.ts --klipper-entry <klipper-lb entry> --repeat ${REPEAT} --seconds ${SECONDS}`,
  machine: machine(),
  started,
  finished: new Date().toISOString(),
  loadAverage: [load0, loadAverage()],
  versions: {
    'lb-forwarder': sh('git', ['rev-parse', '--short', 'HEAD']).trim(),
    'klipper-lb entry': ENTRY_SOURCE,
    busybox: sh('busybox', [], true).split('\n')[0]!.replace(' multi-call binary.', '').trim(),
    iperf3: sh('iperf3', ['--version'], true).split('\n')[0]!.trim(),
  },
  repetitions: REPEAT,
  method: [
    'Three network namespaces per candidate: client — lb (forwarding on, the candidate) — backend, joined by veth pairs. Environment as K3s sets it for one port: `SRC_PORT=5201 DEST_PROTO=TCP DEST_PORT=5201 DEST_IPS=10.77.2.2 SRC_RANGES=0.0.0.0/0`. The direct path is client → backend through the lb namespace on a port no rule matches (forwarded, conntrack on, no NAT); through the candidate is client → lb address, DNAT and MASQUERADE to the backend; direct and through runs alternate. Throughput: iperf3 ' + `${SECONDS} s per run; latency: 2,000 one-byte request/answer round trips on one TCP connection per run (bench/peers/tcp-rr.mjs, Node on both ends, so the absolute figure is mostly Node's; the ratio is what counts).`,
    "klipper-lb is upstream's `entry` script, unmodified, run with busybox sh (its image runs busybox ash) in a private mount namespace whose /usr/sbin is an overlay (the script relinks /usr/sbin/iptables*). On this kernel nf_tables is built in and /proc/modules is absent, so its `lsmod | grep nf_tables` test picks legacy (klipper-lb#80); legacy iptables works here, so its rules still forward. **start → rules**: spawn → the candidate is past its rules (lb-forwarder's `handoff` log event; the script's `set -x` trace reaching the `/pause` test after its last iptables call); three starts (first, restart, the latency run). **rules**: `-A` lines in iptables-nft-save + iptables-legacy-save of the lb namespace after the first run → after a restart in the same namespace. **RSS**: VmRSS of what stays running, sampled every 200 ms for the same seconds.",
  ],
  columns: ['candidate', 'steady RSS', 'start → rules applied', 'rules: first run → after restart', 'throughput: through / direct', 'latency median: through / direct (ratio direct/through)', 'latency p99: through / direct', 'exit on SIGTERM', 'load'],
  rows,
  findings,
  plots: [
    {
      file: 'lb-peers-throughput.svg',
      title: 'DNAT throughput relative to the direct path, run by run',
      x: { title: 'run (a direct run, then a run through the candidate)' },
      y: { title: 'through / direct' },
      points: results.flatMap((r) => r.through.bps.map((b, k) => ({ x: k + 1, y: Math.round((b / r.direct.bps[k]!) * 1000) / 1000, series: r.name }))),
    },
  ],
};
mkdirSync('.cache/bench', { recursive: true });
writeFileSync(OUT, JSON.stringify(series, null, 1));
process.stdout.write(`| ${series.columns.join(' | ')} |\n|${series.columns.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n${findings.join('\n')}\n`);
log(`series written to ${OUT}`);
