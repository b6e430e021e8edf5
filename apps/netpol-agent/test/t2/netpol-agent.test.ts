/**
 * T2: `netpol-agent run` against the T2 control plane (kube-apiserver + kwok nodes), with a
 * least-privilege ServiceAccount token, enforcing policy in a network namespace that models its node.
 *
 * The agent process runs in the root network namespace because the T2 API server listens on
 * 127.0.0.1 only; every iptables/ipset command it runs goes through wrappers
 * (`ip netns exec <node netns> <tool>`), so all rules and sets land in the node namespace and the
 * host is never touched. Pods are created on the API bound to a kwok node; kwok gives them IPs
 * from the node's pod CIDRs, and the test builds pod namespaces with exactly those IPs, so a real
 * probe shows each policy change.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { peerSetName, targetSetName } from '@portico/netpol';
import { REPO, bundleAgent } from '../dataplane/cluster.ts';
import { NODE_BIN, Topology, checkPrerequisites, sh, type PodInfo } from '../dataplane/topology.ts';

const KUBECTL = join(REPO, '.cache/bin/kubectl');
const ID = `np-${Date.now().toString(36)}-${process.pid % 1000}`;
const NS_X = `${ID}-x`;
const NS_Y = `${ID}-y`;
const NS_SYS = `${ID}-sys`;

function kubectl(args: readonly string[], input?: string): string {
  try {
    return execFileSync(KUBECTL, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  } catch (e) {
    const err = e as { stderr?: string };
    throw new Error(`kubectl ${args.join(' ')}: ${err.stderr ?? e}`);
  }
}
const apply = (obj: unknown): string => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

async function eventually<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function shippedRules(): unknown[] {
  const docs = parseAllDocuments(readFileSync(join(REPO, 'apps/netpol-agent/rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: unknown[] });
  const role = docs.find((d) => d.kind === 'ClusterRole');
  if (!role?.rules) throw new Error('apps/netpol-agent/rbac.yaml has no ClusterRole rules');
  return role.rules;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('netpol-agent run against the T2 API server (T2)', () => {
  const topo = new Topology(ID.slice(-8));
  let agent: ChildProcess | undefined;
  let agentOut = '';
  let metricsUrl = '';
  let node1 = '';
  let nodeNetns = '';
  const wrapDir = join(REPO, '.cache', `${ID}-wrap`);
  const pods: Record<string, PodInfo> = {};
  let bundle = '';

  const iptablesSave = (): string => sh(nodeNetns, 'iptables-save', ['-t', 'filter']) + sh(nodeNetns, 'ip6tables-save', ['-t', 'filter']);
  const probe = async (from: string, to: string): Promise<[boolean, boolean]> => {
    const r = await topo.probe(pods[from]!.netns, [
      { id: '4', proto: 'TCP', ip: pods[to]!.ipv4, port: 80 },
      { id: '6', proto: 'TCP', ip: pods[to]!.ipv6, port: 80 },
    ]);
    return [r.find((x) => x.id === '4')!.ok, r.find((x) => x.id === '6')!.ok];
  };

  beforeAll(async () => {
    if (!process.env['KUBECONFIG']) throw new Error('KUBECONFIG is not set: run through tools/test/run-tier.sh t2 (it starts e2e/t2/up)');
    checkPrerequisites(['ip', 'iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore', 'ipset', KUBECTL]);

    // Two kwok nodes (dual-stack pod CIDRs from the controller manager); the agent is node 1.
    const names = execFileSync(join(REPO, 'e2e/t2/add-nodes'), ['--count', '2', '--prefix', ID, '--label', `portico-test=${ID}`, '--internal-ip-base', '192.168.78.', '--internal-ip-base', 'fd78::'], {
      encoding: 'utf8',
      env: process.env,
    })
      .trim()
      .split('\n');
    node1 = names[0]!;
    const nodeObj = JSON.parse(kubectl(['get', 'node', node1, '-o', 'json'])) as { spec: { podCIDRs: string[] }; status: { addresses: { type: string; address: string }[] } };
    const addr = (v6: boolean) => nodeObj.status.addresses.find((a) => a.type === 'InternalIP' && a.address.includes(':') === v6)!.address;
    const cidr = (v6: boolean) => nodeObj.spec.podCIDRs.find((c) => c.includes(':') === v6)!;
    nodeNetns = topo.addNode({ name: 'n1', ipv4: addr(false), ipv6: addr(true), podCIDRv4: cidr(false), podCIDRv6: cidr(true) }).netns;
    topo.addNodeAddresses('n1');

    // Namespaces and pods on the API; kwok runs them and assigns IPs.
    for (const [ns, labels] of [
      [NS_X, { team: 'x' }],
      [NS_Y, { team: 'y' }],
      [NS_SYS, {}],
    ] as const) {
      apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'portico-test': ID, ...labels } } });
    }
    const podSpecs: [string, string, string][] = [
      [NS_X, 'a', names[0]!],
      [NS_X, 'b', names[0]!],
      [NS_Y, 'c', names[0]!],
      [NS_Y, 'd', names[1]!],
    ];
    for (const [ns, name, nodeName] of podSpecs) {
      apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels: { pod: name } },
        spec: { nodeName, containers: [{ name: 'c', image: 'registry.invalid/nothing:1', ports: [{ name: 'http', containerPort: 80 }] }] },
      });
    }
    for (const [ns, name, nodeName] of podSpecs) {
      const ips = await eventually(`pod ${ns}/${name} IPs`, () => {
        const p = JSON.parse(kubectl(['get', 'pod', '-n', ns, name, '-o', 'json'])) as { status?: { podIPs?: { ip: string }[] } };
        const list = (p.status?.podIPs ?? []).map((x) => x.ip);
        return list.length === 2 ? list : undefined;
      });
      if (nodeName !== node1) continue;
      pods[name] = topo.addPod({ ns, name, node: 'n1', ipv4: ips.find((i) => !i.includes(':'))!, ipv6: ips.find((i) => i.includes(':'))! });
    }
    await Promise.all(Object.values(pods).map((p) => topo.serve(p.netns, [80], [53])));

    // Least privilege: read pods, namespaces, network policies and nodes; nothing else.
    apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'netpol-agent', namespace: NS_SYS } });
    apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${ID}-netpol-agent`, labels: { 'portico-test': ID } },
      // The rules the project ships (apps/netpol-agent/rbac.yaml), not a copy.
      rules: shippedRules(),
    });
    apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${ID}-netpol-agent`, labels: { 'portico-test': ID } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ID}-netpol-agent` },
      subjects: [{ kind: 'ServiceAccount', name: 'netpol-agent', namespace: NS_SYS }],
    });
    const token = kubectl(['create', 'token', 'netpol-agent', '-n', NS_SYS, '--duration', '1h']).trim();
    const admin = JSON.parse(kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])) as { clusters: { cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[] };
    const cluster = admin.clusters[0]!.cluster;
    mkdirSync(wrapDir, { recursive: true });
    const kubeconfig = join(wrapDir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 't2', cluster }],
        users: [{ name: 'netpol-agent', user: { token } }],
        contexts: [{ name: 'agent', context: { cluster: 't2', user: 'netpol-agent' } }],
        'current-context': 'agent',
      }),
    );
    // The token works, and only for what the agent needs (`auth can-i` prints yes/no, exit 1 for no).
    const can = (...args: string[]): string => spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args], { encoding: 'utf8' }).stdout.trim();
    assert.equal(can('watch', 'networkpolicies.networking.k8s.io', '-A'), 'yes');
    assert.equal(can('list', 'secrets', '-A'), 'no');
    assert.equal(can('update', 'pods', '-n', NS_X), 'no');
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    topo.destroy();
    rmSync(wrapDir, { recursive: true, force: true });
    if (bundle) rmSync(dirname(bundle), { recursive: true, force: true });
    for (const args of [
      ['delete', 'ns', NS_X, NS_Y, NS_SYS, '--wait=false', '--ignore-not-found'],
      ['delete', 'nodes', '-l', `portico-test=${ID}`, '--wait=false'],
      ['delete', 'clusterrole,clusterrolebinding', '-l', `portico-test=${ID}`, '--ignore-not-found'],
    ]) {
      try {
        kubectl(args);
      } catch {
        // best effort: the cluster is shared and may be going away
      }
    }
  });

  it('starts with a least-privilege token, programs its node, becomes ready', async () => {
    // Wrappers send every kernel command into the node namespace.
    for (const tool of ['iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore', 'ipset']) {
      const real = sh(undefined, 'sh', ['-c', `command -v ${tool}`]).trim();
      writeFileSync(join(wrapDir, tool), `#!/bin/sh\nexec ip netns exec ${nodeNetns} ${real} "$@"\n`);
      chmodSync(join(wrapDir, tool), 0o755);
    }
    bundle = await bundleAgent();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    agent = spawn(
      NODE_BIN,
      [bundle, 'run', '--node-name', node1, '--kubeconfig', join(wrapDir, 'kubeconfig'), '--metrics-addr', `127.0.0.1:${port}`, '--iptables-backend', 'system', '--min-sync-interval', '200ms', '--resync-period', '30s', '--service-cidrs', '10.96.0.0/16,fd00:10:96::/112'],
      { cwd: REPO, env: { ...process.env, PATH: `${wrapDir}:${process.env['PATH']}`, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout!.on('data', (d: Buffer) => (agentOut += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentOut += d.toString()));
    await eventually('agent ready', async () => {
      if (agent!.exitCode !== null) throw new Error(`agent exited ${agent!.exitCode}:\n${agentOut}`);
      return (await fetch(`${metricsUrl}/readyz`).catch(() => undefined))?.status === 200;
    });
    const rules = iptablesSave();
    for (const p of Object.values(pods)) assert.ok(rules.includes(`"${p.ns}/${p.name} in"`), `no chain for pod ${p.ns}/${p.name}`);
    assert.doesNotMatch(rules, /\/d in"/, 'the remote pod has no chain here');
    assert.deepEqual(await probe('c', 'a'), [true, true]);
    assert.doesNotMatch(agentOut, /Forbidden|403/, 'the agent hit RBAC walls');
  });

  it('creating a NetworkPolicy changes enforcement; deleting it restores traffic', async () => {
    apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a-from-b', namespace: NS_X },
      spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'http' }] }] },
    });
    await eventually('policy chain', () => iptablesSave().includes(`"${NS_X}/a-from-b policy"`));
    assert.deepEqual(await probe('b', 'a'), [true, true], 'b is allowed');
    assert.deepEqual(await probe('c', 'a'), [false, false], 'c is denied');
    assert.deepEqual(await probe('a', 'c'), [true, true], 'c itself is not isolated');

    kubectl(['delete', 'networkpolicy', '-n', NS_X, 'a-from-b']);
    await eventually('policy chain gone', () => !iptablesSave().includes('a-from-b'));
    assert.deepEqual(await probe('c', 'a'), [true, true]);
    // Its sets are gone too (destroyed after the rules stopped using them).
    const sets = new Set(sh(nodeNetns, 'ipset', ['list', '-n']).split('\n').filter(Boolean));
    for (const fam of ['IPv4', 'IPv6'] as const) {
      for (const name of [targetSetName(NS_X, 'a-from-b', 'ingress', fam), peerSetName(NS_X, 'a-from-b', 'ingress', 0, 'pod', fam)]) {
        assert.ok(!sets.has(name), `stale set ${name} left behind`);
      }
    }
  });

  it('a namespace label change and a pod deletion reach the kernel', async () => {
    apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a-from-team', namespace: NS_X },
      spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { allowed: 'yes' } } }] }] },
    });
    await eventually('policy chain', () => iptablesSave().includes(`"${NS_X}/a-from-team policy"`));
    assert.deepEqual(await probe('c', 'a'), [false, false]);
    kubectl(['label', 'ns', NS_Y, 'allowed=yes']);
    await eventually('c allowed after the label', async () => (await probe('c', 'a')).every(Boolean));

    kubectl(['delete', 'pod', '-n', NS_Y, 'c', '--wait=false']);
    await eventually('pod chain of c gone', () => !iptablesSave().includes(`"${NS_Y}/c in"`));
  });

  it('exposes kube-router and portico metrics; unchanged resyncs write nothing', async () => {
    const before = await (await fetch(`${metricsUrl}/metrics`)).text();
    const writes = (text: string): number =>
      text
        .split('\n')
        .filter((l) => l.startsWith('portico_netpol_kernel_writes_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.match(before, /^kube_router_controller_iptables_sync_time_count [1-9]/m);
    assert.match(before, /^kube_router_controller_policy_chains [1-9]/m);
    assert.match(before, /^portico_netpol_syncs_total\{result="applied"\} [1-9]/m);
    // Wait for one periodic resync (30 s): it re-reads the kernel and must write nothing.
    const syncs = (text: string): number => Number(/^kube_router_controller_iptables_sync_time_count (\d+)/m.exec(text)?.[1] ?? 0);
    const n0 = syncs(before);
    const after = await eventually('a periodic resync', async () => {
      const t = await (await fetch(`${metricsUrl}/metrics`)).text();
      return syncs(t) > n0 ? t : undefined;
    }, 45_000);
    assert.equal(writes(after), writes(before), 'an unchanged resync wrote to the kernel');
    assert.match(after, /^portico_netpol_kernel_reads_total\{tool="iptables"\} [1-9]/m);
  });
});
