// T2: Lease leader election between separate processes (fixtures/elector.ts), default client-go
// timings (lease 15 s, renew deadline 10 s, retry 2 s):
//  - the leader is SIGKILLed → the standby leads within one lease duration plus its retry period,
//    and not before the lease expired by its own clock;
//  - a graceful SIGTERM releases the Lease → the standby takes over at its next retry;
//  - never two leaders at once: the acquire/lose timestamps of all processes never overlap.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type Lease, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { adminClient, kubeconfigPath, testNamespace, waitUntil } from './helpers.ts';

const LEASE_MS = 15_000;
const RETRY_MS = 2_000;
const MAX_RETRY_WAIT_MS = RETRY_MS * 2.2; // acquire retries are jittered up to × (1 + 1.2)
const FIXTURE = resolve(import.meta.dirname, 'fixtures/elector.ts');

interface Line {
  t: number;
  id: string;
  event: string;
  holder?: string;
}

class Candidate {
  readonly id: string;
  readonly lines: Line[] = [];
  readonly proc: ChildProcess;
  stderr = '';
  killedAt: number | undefined;
  exited = false;
  /** Resolves with the exit code once the process has exited (also when it already has). */
  readonly exit: Promise<number | null>;

  constructor(id: string, namespace: string, lease: string) {
    this.id = id;
    this.proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      env: { ...process.env, IDENTITY: id, LEASE_NAMESPACE: namespace, LEASE_NAME: lease, KUBECONFIG: kubeconfigPath() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Line);
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exit = new Promise((r) =>
      this.proc.on('exit', (code) => {
        this.exited = true;
        r(code);
      }),
    );
  }

  first(event: string): Line | undefined {
    return this.lines.find((l) => l.event === event);
  }

  async waitFor(event: string, timeoutMs: number): Promise<Line> {
    await waitUntil(() => this.first(event) !== undefined || this.exited, timeoutMs, `${this.id} to log ${event}`, 20);
    const l = this.first(event);
    assert.ok(l, `${this.id} exited before logging ${event}: ${this.stderr}`);
    return l;
  }

  kill(signal: NodeJS.Signals): number {
    const at = Date.now();
    this.proc.kill(signal);
    if (signal === 'SIGKILL') this.killedAt = at;
    return at;
  }

  /** Leadership intervals [start, end]; an open one ends at `now` (or at the SIGKILL time). */
  intervals(now: number): [number, number][] {
    const out: [number, number][] = [];
    let start: number | undefined;
    for (const l of this.lines) {
      if (l.event === 'acquired') start = l.t;
      if (l.event === 'lost' && start !== undefined) {
        out.push([start, l.t]);
        start = undefined;
      }
    }
    if (start !== undefined) out.push([start, this.killedAt ?? now]);
    return out;
  }
}

function assertNoOverlap(candidates: Candidate[]): void {
  const now = Date.now();
  const all = candidates.flatMap((c) => c.intervals(now).map(([s, e]) => ({ id: c.id, s, e }))).sort((a, b) => a.s - b.s);
  for (let i = 1; i < all.length; i++) {
    const prev = all[i - 1]!;
    const cur = all[i]!;
    assert.ok(cur.s > prev.e, `two leaders at once: ${prev.id} led [${prev.s}, ${prev.e}] and ${cur.id} from ${cur.s}`);
  }
}

describe('LeaderElector across processes against a real API server', () => {
  let client: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };
  const procs: Candidate[] = [];

  beforeAll(async () => {
    client = await adminClient();
    ns = await testNamespace(client, 'leader');
  });
  afterAll(async () => {
    for (const c of procs) if (!c.exited) c.proc.kill('SIGKILL');
    await Promise.all(procs.map((c) => c.exit));
    await ns?.cleanup();
    client?.close();
  });

  it('fails over after SIGKILL within a lease duration, releases on SIGTERM, and never has two leaders', async () => {
    const a = new Candidate('cand-a', ns.name, 'portico-test');
    procs.push(a);
    await a.waitFor('acquired', 30_000);
    const b = new Candidate('cand-b', ns.name, 'portico-test');
    procs.push(b);
    await b.waitFor('ready', 30_000);
    // b sees a as holder and stays standby for a while.
    await waitUntil(() => b.lines.some((l) => l.event === 'observed' && l.holder === 'cand-a'), 15_000, 'b to observe a as leader');
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    assert.equal(b.first('acquired'), undefined, 'b must not lead while a renews');

    // 1. SIGKILL the leader: no release; b waits for expiry by its own clock.
    const lastRenewBefore = Date.now();
    const killedAt = a.kill('SIGKILL');
    const bAcquired = await b.waitFor('acquired', LEASE_MS + 4 * MAX_RETRY_WAIT_MS + 5_000);
    const failoverMs = bAcquired.t - killedAt;
    console.log(`failover after SIGKILL: ${failoverMs} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
    // a renewed at most one retry period before the kill; b's clock starts when it observed that renew.
    assert.ok(failoverMs >= LEASE_MS - RETRY_MS - 500, `b took over too early (${failoverMs} ms): the lease had not expired`);
    assert.ok(failoverMs <= LEASE_MS + 2 * MAX_RETRY_WAIT_MS + 1_000, `b took over too late (${failoverMs} ms)`);
    void lastRenewBefore;

    const lease = await client.get<Lease>(Resources.Lease, { namespace: ns.name, name: 'portico-test' });
    assert.equal(lease.spec?.holderIdentity, 'cand-b');
    assert.equal(lease.spec?.leaseTransitions, 1);
    assert.equal(lease.spec?.leaseDurationSeconds, 15);

    // 2. Graceful: a new standby c, then SIGTERM the leader b → release → c takes over fast.
    const c = new Candidate('cand-c', ns.name, 'portico-test');
    procs.push(c);
    await c.waitFor('ready', 30_000);
    await waitUntil(() => c.lines.some((l) => l.event === 'observed' && l.holder === 'cand-b'), 15_000, 'c to observe b as leader');
    const termAt = b.kill('SIGTERM');
    const bExited = await b.waitFor('exited', 15_000);
    const bLost = b.first('lost')!;
    const cAcquired = await c.waitFor('acquired', LEASE_MS);
    const takeoverMs = cAcquired.t - termAt;
    console.log(`takeover after SIGTERM (release): ${takeoverMs} ms; b stopped leading ${bLost.t - termAt} ms after SIGTERM and exited after ${bExited.t - termAt} ms`);
    assert.ok(takeoverMs <= MAX_RETRY_WAIT_MS + 1_500, `takeover after release took ${takeoverMs} ms (expected within one jittered retry period)`);
    assert.ok(bLost.t <= cAcquired.t, 'b stopped leading before c started');
    assert.equal(await b.exit, 0, `b exit code: ${b.stderr}`);

    const after2 = await client.get<Lease>(Resources.Lease, { namespace: ns.name, name: 'portico-test' });
    assert.equal(after2.spec?.holderIdentity, 'cand-c');
    assert.equal(after2.spec?.leaseTransitions, 2);

    assertNoOverlap([a, b, c]);
  });
});
