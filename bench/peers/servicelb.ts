// ServiceLB core: cost growth of a full reconcile with Services and nodes, and the K3s peer's status.
//
//   node --import tsx bench/peers/servicelb.ts [--sizes 1000x100,2500x250,5000x500,10000x1000]
//        [--runs 5] [--ingress-nodes 3,10,30 [--ingress-services 20]] [--out .cache/bench/servicelb-peers.json]
//   bench/run.sh servicelb-peers
//
// Each size (Services x nodes) is one bench/servicelb/reconcile.ts process (its synthetic cluster:
// nodes in pools of 10, one Ready svclb pod per Service per pool node, a quarter Local), --runs
// timed runs after a warm-up; wall and CPU time of the full reconcile, median and p99, buildIndex,
// one Service on a built index, peak RSS. With --ingress-nodes (KUBECONFIG = T2): Service created →
// status.loadBalancer.ingress lists every node, per node count (bench/servicelb/ingress-latency.ts,
// the controller as a process), median and p99. The peer, K3s's ServiceLB controller
// (github.com/k3s-io/k3s pkg/cloudprovider/servicelb.go), runs only if its module resolves through
// the Go module proxy: K3S_PEER_COMMIT names the commit tried (`go list -m`), and the answer is
// recorded in the section either way.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadAverage, machine, type Series } from '../src/series.ts';
import { fmtBytes, fmtMs, summarize } from '../src/stats.ts';
import { stringArg } from '../args.ts';

const flag = (name: string, def: string): string => stringArg(name, def, usage);
function usage(msg: string): never {
  process.stderr.write(`bench/peers/servicelb.ts: ${msg}\nusage: node --import tsx bench/peers/servicelb.ts [--sizes 1000x100,10000x1000] [--runs N] [--out FILE]\n`);
  process.exit(2);
}
const SIZES = flag('sizes', '1000x100,2500x250,5000x500,10000x1000')
  .split(',')
  .map((p) => {
    const m = /^(\d+)x(\d+)$/.exec(p);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 10) usage(`--sizes: invalid value ${JSON.stringify(p)}: want <services>x<nodes>, nodes >= 10`);
    return { services: Number(m[1]), nodes: Number(m[2]) };
  });
const RUNS = Number(flag('runs', '5'));
if (!Number.isInteger(RUNS) || RUNS < 1) usage(`--runs: invalid value ${JSON.stringify(flag('runs', '5'))}: want a positive integer`);
const OUT = flag('out', '.cache/bench/servicelb-peers.json');
const K3S_COMMIT = process.env.K3S_PEER_COMMIT ?? '5ec454f50e7a45113ddae05e68728ec622b0331f';
/** Node counts for the T2 series (Service created → ingress); empty = not run. Needs KUBECONFIG (T2). */
const INGRESS_NODES = flag('ingress-nodes', '')
  .split(',')
  .filter(Boolean)
  .map((n) => {
    if (!/^\d+$/.test(n) || Number(n) < 1) usage(`--ingress-nodes: invalid value ${JSON.stringify(n)}: want node counts, e.g. 3,10,30`);
    return Number(n);
  });
const INGRESS_SERVICES = Number(flag('ingress-services', '20'));
if (!Number.isInteger(INGRESS_SERVICES) || INGRESS_SERVICES < 1) usage(`--ingress-services: invalid value ${JSON.stringify(flag('ingress-services', '20'))}: want a positive integer`);
if (INGRESS_NODES.length && !process.env.KUBECONFIG) usage('--ingress-nodes needs KUBECONFIG (the T2 control plane: e2e/t2/up)');

interface Sample {
  services: number;
  nodes: number;
  pods: number;
  fullMs: number[];
  fullCpuMs: number[];
  indexMs: number[];
  perKeyUs: number[];
  peakRssBytes: number;
  load: number;
}

const log = (msg: string): void => void process.stderr.write(`bench peers/servicelb ${new Date().toISOString().slice(11, 19)} (load ${loadAverage()}): ${msg}\n`);

// The peer: does the proxy serve the k3s module at that commit?
const probe = spawnSync('go', ['list', '-m', '-json', `github.com/k3s-io/k3s@${K3S_COMMIT}`], { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 180_000 });
const peerAnswer = probe.status === 0 ? `resolves: ${(JSON.parse(probe.stdout) as { Version: string }).Version}` : `refused: ${(probe.stderr || probe.error?.message || '').trim().split('\n').join(' ')}`;
log(`K3s ServiceLB peer: go list -m github.com/k3s-io/k3s@${K3S_COMMIT}: ${peerAnswer}`);

mkdirSync('.cache/bench/peers', { recursive: true });
const started = new Date().toISOString();
const load0 = loadAverage();
const samples: Sample[] = [];
for (const { services, nodes } of SIZES) {
  const file = `.cache/bench/peers/servicelb-${services}x${nodes}.json`;
  const load = loadAverage();
  log(`${services} Services × ${nodes} nodes`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/servicelb/reconcile.ts', '--services', String(services), '--nodes', String(nodes), '--runs', String(RUNS), '--json', file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
  // exit 1 = the 2 s target missed at this size (still a measurement); anything else is a failure
  if (r.status !== 0 && r.status !== 1) throw new Error(`bench/servicelb/reconcile.ts ${services}x${nodes}: exit ${r.status ?? r.signal}`);
  samples.push({ ...(JSON.parse(readFileSync(file, 'utf8')) as Omit<Sample, 'load'>), load });
}

// Service created → ingress lists every node, on T2 (bench/servicelb/ingress-latency.ts, the controller as a process).
interface Ingress {
  nodes: number;
  services: number;
  allAddresses: number[];
  firstAddress: number[];
  readyToIngress: number[];
  load: number;
}
const ingress: Ingress[] = [];
for (const nodes of INGRESS_NODES) {
  const load = loadAverage();
  log(`Service created → ingress, ${INGRESS_SERVICES} Services, ${nodes} kwok nodes (T2)`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/servicelb/ingress-latency.ts', '--services', String(INGRESS_SERVICES), '--nodes', String(nodes)], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench/servicelb/ingress-latency.ts --nodes ${nodes}: exit ${r.status ?? r.signal}`);
  ingress.push({ ...(JSON.parse(readFileSync('.cache/bench/servicelb-ingress-latency.json', 'utf8')) as Omit<Ingress, 'load'>), load });
}

const rows = samples.map((s) => {
  const w = summarize(s.fullMs);
  const c = summarize(s.fullCpuMs);
  return [
    `${s.services.toLocaleString('en')} × ${s.nodes.toLocaleString('en')} (${s.pods.toLocaleString('en')} pods)`,
    `${fmtMs(w.median)} / ${fmtMs(w.p99)}`,
    `${fmtMs(c.median)} / ${fmtMs(c.p99)}`,
    fmtMs(summarize(s.indexMs).median),
    `${summarize(s.perKeyUs).median.toFixed(1)} µs`,
    fmtBytes(s.peakRssBytes),
    'not run (see below)',
    String(s.load),
  ];
});
const ingressRows = ingress.map((g) => {
  const all = summarize(g.allAddresses);
  const first = summarize(g.firstAddress);
  const ctl = summarize(g.readyToIngress);
  return [`ingress on T2: ${g.services} Services × ${g.nodes} kwok nodes`, `all nodes ${fmtMs(all.median)} / ${fmtMs(all.p99)}`, `first node ${fmtMs(first.median)} / ${fmtMs(first.p99)}`, `pod Ready → ingress ${fmtMs(ctl.median)} / ${fmtMs(ctl.p99)}`, '—', '—', 'not run (see below)', String(g.load)];
});
const series: Series = {
  name: 'servicelb-peers',
  title: 'ServiceLB core: full reconcile as Services and nodes grow (K3s ServiceLB peer: cannot be built here)',
  command: `bash bench/run.sh servicelb-peers   # = node --import tsx bench/peers/servicelb.ts --sizes ${SIZES.map((s) => `${s.services}x${s.nodes}`).join(',')} --runs ${RUNS}`,
  machine: machine(),
  started,
  finished: new Date().toISOString(),
  loadAverage: [load0, loadAverage()],
  versions: { 'servicelb (libs/servicelb)': spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(), 'K3s ServiceLB': `github.com/k3s-io/k3s@${K3S_COMMIT.slice(0, 12)}: ${probe.status === 0 ? 'resolved' : 'not served by the Go module proxy'}` },
  repetitions: RUNS,
  method: [
    'One bench/servicelb/reconcile.ts process per size: nodes in pools of 10 (allow-list mode), every Service on a port unique in its pool with a Ready svclb pod on each of its pool\'s nodes, a quarter `externalTrafficPolicy: Local` with EndpointSlices, a fifth dual-stack; the full `reconcile` (index, every DaemonSet, every status, orphan scan) timed ' + `${RUNS} times after a warm-up (wall and process CPU, median / p99), \`buildIndex\` alone, one Service on a built index (\`reconcileKey\`), peak RSS of the process (snapshot included).`,
    `The peer would be K3s's ServiceLB controller (pkg/cloudprovider/servicelb.go). The Go module proxy lists no k3s versions; one pseudo-version of a k3s commit was tried: \`go list -m github.com/k3s-io/k3s@${K3S_COMMIT}\` → ${peerAnswer}. Without the module it cannot be built from the proxy here, so this series has no peer column figures; nothing was substituted for it.`,
  ],
  columns: ['Services × nodes', 'full reconcile wall median / p99', 'CPU median / p99', 'buildIndex', 'one Service', 'peak RSS', 'K3s ServiceLB', 'load'],
  rows: [...rows, ...ingressRows],
  findings: [
    (() => {
      const big = samples.find((s) => s.services === 10_000 && s.nodes === 1_000);
      return big ? `10,000 Services over 1,000 nodes: full reconcile ${fmtMs(summarize(big.fullMs).median)} wall, ${fmtMs(summarize(big.fullCpuMs).median)} CPU (target < 2 s: ${summarize(big.fullCpuMs).median < 2000 ? 'met' : 'not met'} on CPU time).` : 'The 10,000 × 1,000 point was not in this run.';
    })(),
  ],
  plots: [
    {
      file: 'servicelb-peers-reconcile.svg',
      title: 'ServiceLB full reconcile vs Services (nodes = Services / 10)',
      x: { title: 'Services', log: true },
      y: { title: 'ms (log)', log: true },
      points: samples.flatMap((s) => [
        { x: s.services, y: Math.round(summarize(s.fullMs).median), series: 'Portico, wall median' },
        { x: s.services, y: Math.round(summarize(s.fullCpuMs).median), series: 'Portico, CPU median' },
      ]),
    },
    ...(ingress.length
      ? [
          {
            file: 'servicelb-peers-ingress.svg',
            title: 'Service created → ingress lists every node (T2, kwok)',
            x: { title: 'kwok nodes', log: true },
            y: { title: 'ms (log)', log: true },
            points: ingress.flatMap((g) => [
              { x: g.nodes, y: Math.round(summarize(g.allAddresses).median), series: 'Portico, median' },
              { x: g.nodes, y: Math.round(summarize(g.allAddresses).p99), series: 'Portico, p99' },
            ]),
          },
        ]
      : []),
  ],
  raw: { reconcile: samples, ingress },
};
writeFileSync(OUT, JSON.stringify(series, null, 1));
process.stdout.write(`| ${series.columns.join(' | ')} |\n|${series.columns.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n${series.method[1]}\n`);
log(`series written to ${OUT}`);
