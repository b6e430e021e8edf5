// Benchmark: Service created → status.loadBalancer.ingress set, on the T2 control plane with kwok
// nodes and servicelb-controller running as a process (with its ServiceAccount token, as in the T2
// tests).
//
//   T2 up first (e2e/t2/up), then:
//   KUBECONFIG=.cache/t2/kubeconfig node --import tsx bench/servicelb/ingress-latency.ts [--services N] [--nodes M]
//
// N LoadBalancer Services (default 40) are created one by one; each is awaited until its ingress
// lists all M kwok nodes (default 3) of this run before the next is created, so every sample is the
// latency of one Service on an otherwise idle controller. The benchmark's own watches (Services,
// svclb pods) timestamp what happens:
//   end to end          create request sent → ingress lists the first node / all M nodes
//   DaemonSet           create request sent → the svclb DaemonSet exists (the controller: Service
//                       watch → finalizer → server-side apply)
//   kwok + scheduling   DaemonSet created → svclb pod Ready on a node (DaemonSet controller,
//                       scheduler and kwok's pod-ready stage; not the controller's work)
//   pods Ready → ingress  pod Ready on a node → that node's address in the ingress (the controller:
//                       pod watch → queue → core → status write → Service watch)
// Prints a markdown table (median, p90, p99, max) and writes the samples to
// .cache/bench/servicelb-ingress-latency.json. Everything it creates has a random prefix and is
// deleted at the end.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ListWatch, Resources, type KubeObject } from '@portico/kube';
import { REPO, Suite, waitFor } from '../../apps/servicelb-controller/test/t2/fixture.ts';
import { positiveIntArg as arg } from '../args.ts';


const SERVICES = arg('services', 40);
const NODES = arg('nodes', 3);

interface Svc extends KubeObject {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
interface Pod extends KubeObject {
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

function row(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (v: number): string => `${v.toFixed(0)} ms`;
  return `| ${label} | ${s.length} | ${f(quantile(s, 0.5))} | ${f(quantile(s, 0.9))} | ${f(quantile(s, 0.99))} | ${f(s[s.length - 1] ?? Number.NaN)} |`;
}

async function main(): Promise<void> {
  const suite = await Suite.create('bench');
  const podReady = new Map<string, number>(); // `${dsName}/${node}` -> first Ready seen
  const ingressAt = new Map<string, number>(); // `${svc}/${ip}` -> first seen in the ingress
  const dsAt = new Map<string, number>(); // DaemonSet name -> first seen
  const watches: ListWatch<KubeObject>[] = [];
  try {
    const hosts = Array.from({ length: NODES }, (_, i) => i + 1);
    const nodeNames = await suite.addNodes(hosts.map((h) => ({ name: `n${h}`, host: h })));
    const ipOf = new Map(nodeNames.map((n, i) => [n, suite.ip4(hosts[i]!, true)]));

    const pods = new ListWatch<Pod>(suite.admin, Resources.Pod, { namespace: suite.ns.lb });
    pods.onChange((ev) => {
      const p = ev.object;
      if (ev.type === 'delete' || !p.spec?.nodeName) return;
      if (!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
      const key = `${p.metadata?.labels?.['app']}/${p.spec.nodeName}`;
      if (!podReady.has(key)) podReady.set(key, performance.now());
    });
    const svcs = new ListWatch<Svc>(suite.admin, Resources.Service, { namespace: suite.ns.app });
    svcs.onChange((ev) => {
      if (ev.type === 'delete') return;
      for (const i of ev.object.status?.loadBalancer?.ingress ?? []) {
        const key = `${ev.object.metadata?.name}/${i.ip}`;
        if (!ingressAt.has(key)) ingressAt.set(key, performance.now());
      }
    });
    const dss = new ListWatch<KubeObject>(suite.admin, Resources.DaemonSet, { namespace: suite.ns.lb });
    dss.onChange((ev) => {
      const name = ev.object.metadata?.name ?? '';
      if (ev.type === 'add' && !dsAt.has(name)) dsAt.set(name, performance.now());
    });
    watches.push(pods as ListWatch<KubeObject>, svcs as ListWatch<KubeObject>, dss);
    for (const w of watches) w.start();
    await Promise.all(watches.map((w) => w.waitForSync({ timeoutMs: 30_000 })));

    const ctl = await suite.startController({ identity: 'bench', logLevel: 'info' });
    await ctl.ready();
    await waitFor(async () => {
      if ((await ctl.metric('portico_servicelb_leader')) !== 1) throw new Error('not leading yet');
    }, 'the controller to lead');

    const firstAddress: number[] = [];
    const allAddresses: number[] = [];
    const dsCreated: number[] = [];
    const kwokReady: number[] = [];
    const readyToIngress: number[] = [];
    const basePort = 30_000 + Math.floor(Math.random() * 20_000);
    for (let i = 0; i < SERVICES; i++) {
      const name = `svc-${i}`;
      const sent = performance.now();
      const svc = await suite.admin.create<Svc>(Resources.Service, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: suite.ns.app },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: basePort + i, targetPort: 8080 }] },
      } as Svc);
      const ds = `svclb-${name}-${svc.metadata!.uid!.slice(0, 8)}`;
      await waitFor(
        () => {
          for (const n of nodeNames) if (!ingressAt.has(`${name}/${ipOf.get(n)}`)) throw new Error(`${n} not listed yet`);
        },
        `the ingress of ${name}`,
        60_000,
        5,
      );
      const listed = nodeNames.map((n) => ingressAt.get(`${name}/${ipOf.get(n)}`)! - sent);
      firstAddress.push(Math.min(...listed));
      allAddresses.push(Math.max(...listed));
      const dsSeen = dsAt.get(ds);
      if (dsSeen === undefined) throw new Error(`the DaemonSet ${ds} was not observed`);
      dsCreated.push(dsSeen - sent);
      for (const n of nodeNames) {
        const ready = podReady.get(`${ds}/${n}`);
        if (ready === undefined) throw new Error(`no Ready pod of ${ds} on ${n} was observed`);
        kwokReady.push(ready - dsSeen);
        readyToIngress.push(ingressAt.get(`${name}/${ipOf.get(n)}`)! - ready);
      }
      process.stderr.write(`\r${i + 1}/${SERVICES}`);
    }
    process.stderr.write('\n');
    const reconcileSum = await ctl.metric('portico_servicelb_reconcile_duration_seconds_sum', 'result="success"');
    const reconcileCount = await ctl.metric('portico_servicelb_reconcile_duration_seconds_count', 'result="success"');

    const lines = [
      `ServiceLB ingress latency: ${SERVICES} Services created one by one, ${NODES} kwok nodes, T2 control plane, ${new Date().toISOString()}`,
      '',
      '| measure | samples | median | p90 | p99 | max |',
      '|---|---:|---:|---:|---:|---:|',
      row('Service created → ingress lists the first node', firstAddress),
      row(`Service created → ingress lists all ${NODES} nodes`, allAddresses),
      row('Service created → svclb DaemonSet exists (servicelb-controller)', dsCreated),
      row('DaemonSet created → svclb pod Ready (DaemonSet controller, scheduler, kwok)', kwokReady),
      row('svclb pod Ready → its node in the ingress (servicelb-controller)', readyToIngress),
      '',
      `controller reconciles: ${reconcileCount} successful, mean ${(((reconcileSum ?? 0) / (reconcileCount || 1)) * 1000).toFixed(1)} ms each (portico_servicelb_reconcile_duration_seconds)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const outDir = join(REPO, '.cache/bench');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'servicelb-ingress-latency.json'), JSON.stringify({ services: SERVICES, nodes: NODES, firstAddress, allAddresses, dsCreated, kwokReady, readyToIngress }, null, 2));
  } finally {
    for (const w of watches) await w.stop();
    await suite.cleanup();
  }
}

await main();
