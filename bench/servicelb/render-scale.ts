/**
 * servicelb-controller `render` at cluster scale (issue 15): writes a snapshot of N LoadBalancer
 * Services (100 nodes in allow-list mode split into 10 pools, one Ready svclb pod per Service, a
 * quarter with externalTrafficPolicy Local and an EndpointSlice, a fifth dual-stack, a third with
 * source ranges), runs the built CLI on it under `/usr/bin/time -v` and prints one markdown row per
 * size: wall time, CPU time, peak resident memory, exit code and output size. Needs
 * `node tools/build-app.mjs servicelb-controller` first (bench/run.sh does it).
 *
 *   node --import tsx bench/servicelb/render-scale.ts [--services 10000,25000,50000] [--format yaml|json]
 *
 * `--format yaml` (default) writes a multi-document YAML stream, what `kubectl get -o yaml` of
 * several kinds concatenated gives; `json` writes one `v1 List`.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { programNames } from '@portico/labels';
import { daemonSetName } from '@portico/servicelb';
import { mib, timedRun } from '../time.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/apps/servicelb-controller/main.js');
const argv = process.argv;
const si = argv.indexOf('--services');
const sizes = (si >= 0 ? (argv[si + 1] ?? '') : '10000,25000,50000').split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
  process.stderr.write(`--services: invalid value ${JSON.stringify(argv[si + 1])}: want positive integers, comma-separated\n`);
  process.exit(2);
}
const fi = argv.indexOf('--format');
const format = fi >= 0 ? argv[fi + 1] : 'yaml';
if (format !== 'yaml' && format !== 'json') {
  process.stderr.write(`--format: invalid value ${JSON.stringify(format)}: want yaml or json\n`);
  process.exit(2);
}
const NODES = 100;
const POOLS = 10;
const names = programNames('k3s');
const dir = join(ROOT, '.cache/bench');
mkdirSync(dir, { recursive: true });

const uidOf = (i: number): string => `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
const v4 = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** The snapshot's objects, one at a time (the file is written as they come, never held whole). */
function* objects(services: number): Generator<unknown> {
  for (let n = 0; n < NODES; n++) {
    const name = `node-${n}`;
    yield {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: `pool-${n % POOLS}`, 'kubernetes.io/hostname': name } },
      status: { addresses: [{ type: 'InternalIP', address: `192.168.0.${n + 1}` }, { type: 'InternalIP', address: `fd00:1::${(n + 1).toString(16)}` }, { type: 'Hostname', address: name }] },
    };
  }
  for (let i = 0; i < services; i++) {
    const pool = i % POOLS;
    const port = 1_000 + Math.floor(i / POOLS);
    const dual = i % 5 === 0;
    const local = i % 4 === 0;
    const name = `svc-${i}`;
    const namespace = `ns-${i % 50}`;
    const ports = [{ name: 'main', protocol: 'TCP', port, targetPort: 8080, nodePort: 30000 + (i % 2000) }];
    if (i % 10 === 0) ports.push({ name: 'udp', protocol: 'UDP', port, targetPort: 8080, nodePort: 30000 + (i % 2000) });
    yield {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, uid: uidOf(i), generation: 1, labels: { [names.lbPoolLabel]: `pool-${pool}` } },
      spec: {
        type: 'LoadBalancer',
        clusterIP: v4(i + 1),
        clusterIPs: dual ? [v4(i + 1), `fd00:43::${(i + 1).toString(16)}`] : [v4(i + 1)],
        ipFamilies: dual ? ['IPv4', 'IPv6'] : ['IPv4'],
        ipFamilyPolicy: dual ? 'PreferDualStack' : 'SingleStack',
        externalTrafficPolicy: local ? 'Local' : 'Cluster',
        ports,
        ...(i % 3 === 0 ? { loadBalancerSourceRanges: ['192.168.0.0/16', '10.0.0.0/8', `172.16.${i & 255}.0/24`] } : {}),
      },
    };
    const dsName = daemonSetName(name, uidOf(i));
    const nodeName = `node-${pool + POOLS * (i % (NODES / POOLS))}`;
    yield {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${dsName}-x${i}`, namespace: 'kube-system', labels: { app: dsName, [names.svcNameLabel]: name, [names.svcNamespaceLabel]: namespace } },
      spec: { nodeName, containers: ports.map((p) => ({ name: `lb-${p.protocol.toLowerCase()}-${p.port}`, image: 'rancher/klipper-lb:v0.4.17', ports: [{ containerPort: p.port, hostPort: p.port, protocol: p.protocol }] })) },
      status: { phase: 'Running', podIP: v4(i + 1_000_000), conditions: [{ type: 'Ready', status: 'True' }] },
    };
    if (local) {
      yield {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        endpoints: [0, 1].map((k) => ({ addresses: [v4(i * 2 + k + 5_000_000)], conditions: { ready: true }, nodeName, targetRef: { kind: 'Pod', name: `${name}-backend-${k}`, namespace } })),
      };
    }
  }
}

function snapshotFile(services: number): string {
  const file = join(dir, `servicelb-${services}.${format}`);
  const parts: string[] = [];
  if (format === 'json') {
    parts.push('{"apiVersion":"v1","kind":"List","items":[\n');
    let first = true;
    for (const o of objects(services)) {
      parts.push(`${first ? '' : ',\n'}${JSON.stringify(o)}`);
      first = false;
    }
    parts.push('\n]}\n');
  } else {
    for (const o of objects(services)) parts.push(`---\n${stringify(o)}`);
  }
  writeFileSync(file, parts.join(''));
  return file;
}

console.log(`servicelb-controller render at scale: ${NODES} nodes, one svclb pod per Service, ${format} snapshot; /usr/bin/time -v; node ${process.version}.`);
console.log('');
console.log('| Services | snapshot | exit | wall | CPU (user + sys) | peak RSS | output |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
let failed = false;
for (const services of sizes) {
  const file = snapshotFile(services);
  const out = join(dir, `servicelb-${services}.render`);
  const t = timedRun([process.execPath, MAIN, 'render', '--snapshot', file], out);
  const exit = t.exit;
  console.log(`| ${services.toLocaleString('en')} | ${mib(statSync(file).size)} | ${exit} | ${t.wallSeconds.toFixed(1)} s | ${t.cpuSeconds.toFixed(1)} s | ${mib(t.peakRssBytes)} | ${mib(statSync(out).size)} |`);
  if (exit !== '0') {
    failed = true;
    process.stderr.write(t.stderr.split('\n').slice(0, 20).join('\n') + '\n');
  }
}
process.exit(failed ? 1 : 0);
