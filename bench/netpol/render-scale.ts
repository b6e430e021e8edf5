/**
 * netpol-agent `render` at cluster scale (issue 15): writes a snapshot of N pods (namespaces of 50,
 * 100 of them on this node) and P policies as one JSON `v1 List`, runs the built CLI on it under
 * `/usr/bin/time -v`, and prints one markdown row per size: wall time, CPU time, peak resident
 * memory, exit code and output size. Needs `node tools/build-app.mjs netpol-agent` first (bench/run.sh does it).
 *
 *   node --import tsx bench/netpol/render-scale.ts [--pods 50000,100000,200000] [--policies 500]
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { positiveIntArg } from '../args.ts';
import { mib, timedRun } from '../time.ts';
import { node, ns, pod } from '../../apps/netpol-agent/src/testing/fixtures.ts';
import { cluster, v4, v6 } from './cluster.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/apps/netpol-agent/main.js');
const i = process.argv.indexOf('--pods');
const sizes = (i >= 0 ? process.argv[i + 1]! : '50000,100000,200000').split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
  process.stderr.write(`--pods: invalid value ${JSON.stringify(process.argv[i + 1])}: want positive integers, comma-separated\n`);
  process.exit(2);
}
const policies = positiveIntArg('policies', 500);
const LOCAL = 100;
const dir = join(ROOT, '.cache/bench');
mkdirSync(dir, { recursive: true });

function snapshotFile(pods: number): string {
  const nsCount = Math.ceil(pods / 50);
  const items: unknown[] = [];
  for (let n = 0; n < nsCount; n++) items.push({ apiVersion: 'v1', kind: 'Namespace', ...ns(`ns-${n}`, { team: `t${n % 10}`, env: n % 2 ? 'prod' : 'dev' }) });
  const every = Math.floor(pods / LOCAL);
  for (let p = 0; p < pods; p++) {
    const onNode = p % every === 0 && p / every < LOCAL;
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      ...pod(`ns-${p % nsCount}`, `p-${p}`, { app: `app-${p % 20}`, tier: ['web', 'api', 'db'][p % 3]!, pod: `p-${p}` }, onNode ? 'n1' : `n${2 + (p % 999)}`, [v4(p + 1), v6(p + 1)], {
        ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }],
      }),
    });
  }
  // The netpol benchmark's five policy shapes, in the first 100 namespaces (cluster() is quadratic in its pods: keep it small).
  for (const p of cluster(Math.min(pods, 5000), policies, 10).networkPolicies) items.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...p });
  items.push({ apiVersion: 'v1', kind: 'Node', ...node('n1', ['192.168.99.1', 'fd99::1'], ['10.40.0.0/16', 'fd42::/64']) });
  const file = join(dir, `netpol-${pods}.json`);
  // One item per line: JSON.stringify of the whole list would hold a second copy as one string.
  writeFileSync(file, '{"apiVersion":"v1","kind":"List","items":[\n' + items.map((x) => JSON.stringify(x)).join(',\n') + '\n]}\n');
  return file;
}

console.log(`netpol-agent render at scale: ${policies} policies, ${LOCAL} pods on this node, IPv4 and IPv6, default-deny on; /usr/bin/time -v; node ${process.version}.`);
console.log('');
console.log('| pods | snapshot | exit | wall | CPU (user + sys) | peak RSS | output |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const pods of sizes) {
  const file = snapshotFile(pods);
  const out = join(dir, `netpol-${pods}.render`);
  const t = timedRun([process.execPath, MAIN, 'render', '--node', 'n1', '--families', 'IPv4,IPv6', '--default-deny', 'true', '--snapshot', file], out);
  const exit = t.exit;
  console.log(`| ${pods.toLocaleString('en')} | ${mib(statSync(file).size)} | ${exit} | ${t.wallSeconds.toFixed(1)} s | ${t.cpuSeconds.toFixed(1)} s | ${mib(t.peakRssBytes)} | ${mib(statSync(out).size)} |`);
  if (exit !== '0') process.stderr.write(t.stderr.split('\n').slice(0, 20).join('\n') + '\n');
}
