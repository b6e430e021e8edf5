// T2 fault campaign for servicelb-controller (issue 15, item 4): two replicas with leader election
// (lease 3 s, renew deadline 2 s, retry 0.5 s), each with the ServiceAccount token rbac.yaml grants.
//
// Leader kills: create a burst of Services (two valid, one with an invalid tolerations annotation),
// wait a random 0-500 ms so the leader is in the middle of reconciling them, SIGKILL the Lease holder
// and start a replacement replica at once (a new identity, as a restarted pod gets). API-server
// restarts: the same burst, then e2e/t2/restart-apiserver. After each: every valid Service of every
// burst so far has the ingress of this suite's two nodes (nothing lost), each invalid one has its
// Warning Event `InvalidAnnotation` and the False condition (the Event-worthy state was not lost with
// the leader), and the time from the fault to that is recorded. Throughout, the leader gauge of every
// live replica and the Lease holder are sampled every 100 ms: two replicas never lead at once.
// Counts: PORTICO_T2_KILLS (default 2) and PORTICO_T2_RESTARTS (default 1); docs/reliability.md
// records 20 and 20 (tools/reliability/run).
// Run: T2_KEEP=1 T2_PORT_OFFSET=<n> bash tools/test/run-tier.sh t2 apps/servicelb-controller/test/t2/faults.test.ts

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { Resources, type KubeObject } from '@portico/kube';
import { programNames } from '@portico/labels';
import { LeaderWatch, restartApiserver, timesSummary, type LoggedProcess } from '@portico/testing';
import { ControllerProcess, Suite, sleep, waitFor } from './fixture.ts';

const KILLS = Number(process.env['PORTICO_T2_KILLS'] ?? 2);
const RESTARTS = Number(process.env['PORTICO_T2_RESTARTS'] ?? 1);
const names = programNames();
const CONDITION = 'portico.io/LoadBalancerReady';

interface Svc extends KubeObject {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] }; conditions?: { type: string; status: string; reason: string }[] };
}
interface Ev extends KubeObject {
  reason?: string;
  type?: string;
  source?: { component?: string };
  involvedObject?: { name?: string };
}

let suite: Suite;
const replicas = new Map<string, ControllerProcess>();
const slots: string[] = [];
let watch: LeaderWatch;
const valid: string[] = [];
const invalid: string[] = [];
let nextPort = 20_000 + Math.floor(Math.random() * 20_000);
let burst = 0;

function failWithLogs(err: unknown): never {
  const logs = [...replicas].map(([id, p]) => `--- ${id} ${p.logFile}\n${p.tail(20)}`).join('\n');
  throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
}

async function startReplica(slot: number, identity: string): Promise<void> {
  const p = await suite.startController({ identity, logLevel: 'info' });
  replicas.set(identity, p);
  slots[slot] = identity;
  await p.ready(60_000);
}

/** Two valid Services and one with an invalid tolerations annotation. */
async function createBurst(): Promise<void> {
  burst++;
  const mk = (name: string, annotations: Record<string, string> = {}) =>
    suite.admin.create<Svc>(Resources.Service, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: suite.ns.app, annotations },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: nextPort++, targetPort: 80 }] },
    } as Svc);
  for (const n of [`b${burst}-a`, `b${burst}-b`]) {
    await mk(n);
    valid.push(n);
  }
  const bad = `b${burst}-bad`;
  await mk(bad, { [names.tolerationsAnnotation]: '[{"key": "", "operator": "Equal", "value": "x"}]' });
  invalid.push(bad);
}

/** Every valid Service has this suite's two ingress addresses; every invalid one its Event and condition. */
async function converged(): Promise<void> {
  const want = [suite.ip4(1, true), suite.ip4(2, true)];
  const svcs = new Map((await suite.admin.list<Svc>(Resources.Service, { namespace: suite.ns.app })).items.map((s) => [s.metadata!.name!, s]));
  for (const n of valid) {
    const got = (svcs.get(n)?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => suite.mine(ip));
    assert.deepEqual(got, want, `${n}: ingress`);
  }
  const evs = (await suite.admin.list<Ev>(Resources.Event, { namespace: suite.ns.app })).items.filter((e) => e.source?.component === 'service-lb-controller' && e.reason === 'InvalidAnnotation' && e.type === 'Warning');
  for (const n of invalid) {
    assert.ok(evs.some((e) => e.involvedObject?.name === n), `${n}: no InvalidAnnotation Warning Event`);
    assert.equal(svcs.get(n)?.status?.conditions?.find((c) => c.type === CONDITION)?.reason, 'InvalidAnnotation', `${n}: condition`);
  }
}

describe(`servicelb-controller on T2: ${KILLS} leader kills and ${RESTARTS} API-server restarts during reconcile`, () => {
  beforeAll(async () => {
    suite = await Suite.create('slbf');
    await suite.addNodes([
      { name: 'a1', host: 1 },
      { name: 'a2', host: 2 },
    ]);
    await startReplica(0, 'r0');
    await startReplica(1, 'r1');
    watch = new LeaderWatch(() => replicas as ReadonlyMap<string, LoggedProcess>, 'portico_servicelb_leader', suite.admin, { namespace: suite.ns.ctl, name: suite.leaseName });
    watch.start();
    await waitFor(async () => assert.notEqual(await watch.holder(), ''), 'a leader', 60_000);
  });

  afterAll(async () => {
    watch?.stop();
    await suite?.cleanup();
  });

  it('killing the leader mid-reconcile: the new leader converges every Service, Events included; never two leaders', async () => {
    try {
      const times: number[] = [];
      for (let k = 1; k <= KILLS; k++) {
        const holder = await waitFor(async () => {
          const h = await watch.holder();
          assert.ok(replicas.get(h)?.running, `holder ${h} is not a live replica`);
          return h;
        }, 'a live leader', 60_000);
        await createBurst();
        await sleep(Math.floor(Math.random() * 500));
        const t0 = performance.now();
        await replicas.get(holder)!.stop('SIGKILL');
        const slot = slots.indexOf(holder);
        await startReplica(slot, `r${slot}-k${k}`);
        await waitFor(converged, `convergence after kill ${k} of ${holder}`, 120_000, 100);
        times.push(performance.now() - t0);
      }
      console.log(`# servicelb-controller leader kills: ${KILLS}/${KILLS} converged; kill -> every Service converged: ${timesSummary(times)}`);
      assert.deepEqual(watch.overlaps, [], 'two replicas led at once');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('restarting kube-apiserver mid-reconcile: every Service converges, Events included; never two leaders', async () => {
    try {
      const times: number[] = [];
      for (let k = 1; k <= RESTARTS; k++) {
        await createBurst();
        await sleep(Math.floor(Math.random() * 500));
        const t0 = performance.now();
        await restartApiserver();
        await waitFor(converged, `convergence after API-server restart ${k}`, 180_000, 100);
        times.push(performance.now() - t0);
        for (const [id, p] of replicas) if (slots.includes(id)) assert.ok(p.running, `replica ${id} exited`);
      }
      console.log(`# servicelb-controller API-server restarts: ${RESTARTS}/${RESTARTS} converged; restart begun -> every Service converged: ${timesSummary(times)}`);
      console.log(`# leader watch: ${watch.samples} samples, ${watch.overlaps.length} with two leaders; Lease holders: ${watch.holders.map((h) => h.holder).join(' -> ')}`);
      assert.deepEqual(watch.overlaps, [], 'two replicas led at once');
    } catch (err) {
      failWithLogs(err);
    }
  });
});
