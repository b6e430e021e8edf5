import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netpol } from '@portico/labels';
import { expectGolden, shuffled } from '@portico/testing';
import { Cluster, generateCase, node, NODES, ns, pod, policy, Rng } from './testing/index.ts';
import { NetpolRenderer, renderNetpol } from './render.ts';
import { ruleLine, toDesiredText } from './text.ts';
import type { NetpolSnapshot, Pod } from './types.ts';

const testdata = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata');

const X = [ns('x', { team: 'a' }), ns('y', { team: 'b' }), ns('z')];

/** Spec 2.8: node n1 hosts x/a and x/b; x/allow-b lets pod=b reach pod=a on TCP 80. */
const workedExample: NetpolSnapshot = {
  namespaces: [ns('x')],
  pods: [pod('x', 'a', { ips: ['10.42.0.10'] }), pod('x', 'b', { ips: ['10.42.0.11'] })],
  networkPolicies: [
    policy('x', 'allow-b', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] }),
  ],
  nodes: [node('n1', ['172.18.0.1'], ['10.42.0.0/24'])],
};

const dualStack: NetpolSnapshot = {
  namespaces: X,
  pods: [
    pod('x', 'web', { ips: ['10.42.1.10', 'fd00:42:1::a'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('x', 'v4only', { ips: ['10.42.1.11'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8081 }] }),
    pod('y', 'client', { node: 'n2', ips: ['10.42.2.10', 'fd00:42:2::a'], labels: { app: 'client' } }),
    pod('y', 'db', { node: 'n2', ips: ['10.42.2.11', 'fd00:42:2::b'], labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432 }] }),
  ],
  networkPolicies: [
    policy('x', 'web', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 'http' }] },
        { from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }, { ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }], ports: [{ port: 8080, endPort: 8090 }] },
      ],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 'pg' }] }, { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'SCTP' }] }],
    }),
  ],
  nodes: NODES,
};

const defaultDeny: NetpolSnapshot = {
  namespaces: X,
  pods: [pod('x', 'a', { ips: ['10.42.1.10', 'fd00:42:1::a'] })],
  networkPolicies: [policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
  nodes: [node('n1', ['172.18.0.1', 'fd00:18::1'], ['10.99.0.0/24'], { [Netpol.podCIDRsAnnotation]: '10.42.1.0/24, fd00:42:1::/64' })],
};

const nflog: NetpolSnapshot = {
  namespaces: X,
  pods: [pod('x', 'a', { ips: ['10.42.1.10'] })],
  networkPolicies: [
    policy('x', 'logged', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }, { [Netpol.nflogLimitAnnotation]: '5/s', [Netpol.nflogLimitBurstAnnotation]: '3' }),
    policy('x', 'a-policy-whose-name-is-long-enough-to-need-shortening', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }, { [Netpol.nflogLimitAnnotation]: 'lots' }),
  ],
  nodes: NODES,
};

describe('renderer golden files', () => {
  it('spec 2.8 worked example', () => {
    expectGolden(join(testdata, 'worked-example.golden'), toDesiredText(renderNetpol(workedExample, { nodeName: 'n1' })));
  });
  it('dual-stack: per-family sets and chains, v4-only pod, ipBlocks of both families, named ports', () => {
    expectGolden(join(testdata, 'dual-stack.golden'), toDesiredText(renderNetpol(dualStack, { nodeName: 'n1', families: ['IPv4', 'IPv6'], serviceCIDRs: ['10.43.0.0/16', 'fd00:43::/112'] })));
  });
  it('default-deny profile: TAIL rules per pod CIDR from the kube-router.io/pod-cidrs annotation, local-pods set', () => {
    expectGolden(join(testdata, 'default-deny.golden'), toDesiredText(renderNetpol(defaultDeny, { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true })));
  });
  it('k3s fork profile: per-policy NFLOG with annotations, ACCEPT after the KUBE rules', () => {
    expectGolden(
      join(testdata, 'nflog-k3s.golden'),
      toDesiredText(renderNetpol(nflog, { nodeName: 'n1', acceptPlacement: 'after-kube-rules', nflog: { perPolicy: true, group: 100, limit: '10/minute', burst: 10 } })),
    );
  });
});

describe('spec 2.8 worked example shape', () => {
  const fam = renderNetpol(workedExample, { nodeName: 'n1' }).families[0]!;
  const lines = fam.chains.flatMap((c) => c.rules.map((r) => ruleLine(c.name, r, false)));
  it('the policy chain holds the mark/return pair for pods b -> a on tcp/80', () => {
    const pair = lines.filter((l) => l.includes('x/allow-b ingress pods'));
    assert.equal(pair.length, 2);
    assert.match(pair[0]!, /-p tcp -m comment --comment "x\/allow-b ingress pods" -m set --match-set KUBE-SRC-\w{16} src -m set --match-set KUBE-DST-\w{16} dst -m tcp --dport 80 -j MARK --set-xmark 0x10000\/0x10000$/);
    assert.match(pair[1]!, /-m mark --mark 0x10000\/0x10000 -j RETURN$/);
  });
  it('x/a jumps to the policy for ingress and to DEFAULT for egress; x/b has both defaults', () => {
    const a = fam.chains.find((c) => c.rules.some((r) => r.comment === 'x/a reject'))!;
    const b = fam.chains.find((c) => c.rules.some((r) => r.comment === 'x/b reject'))!;
    assert.deepEqual(a.rules.map((r) => r.comment), ['common netpol rules', 'from local node', 'default egress', 'x/allow-b policy', 'x/a log-drop', 'x/a reject', undefined, 'set netpol-ok mark']);
    assert.deepEqual(b.rules.map((r) => r.comment), ['common netpol rules', 'from local node', 'default egress', 'default ingress', 'x/b log-drop', 'x/b reject', undefined, 'set netpol-ok mark']);
  });
  it('connectivity: b reaches a on 80 only; a reaches b; the node reaches a', () => {
    const c = new Cluster(workedExample, { families: ['IPv4'] });
    assert.deepEqual(c.both('10.42.0.11', '10.42.0.10', 'TCP', 80), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('10.42.0.11', '10.42.0.10', 'TCP', 81), { rules: 'deny', oracle: 'deny' });
    assert.deepEqual(c.both('10.42.0.11', '10.42.0.10', 'UDP', 80), { rules: 'deny', oracle: 'deny' });
    assert.deepEqual(c.both('10.42.0.10', '10.42.0.11', 'TCP', 80), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('172.18.0.1', '10.42.0.10', 'TCP', 81), { rules: 'allow', oracle: 'allow' });
  });
});

describe('determinism and stable names', () => {
  it('same input, same bytes; shuffled input, same bytes', () => {
    const cfg = { nodeName: 'n1', families: ['IPv4', 'IPv6'] as const };
    const a = toDesiredText(renderNetpol(dualStack, cfg));
    assert.equal(toDesiredText(renderNetpol(dualStack, cfg)), a);
    for (const seed of [7, 8, 9]) {
      const s = { namespaces: shuffled(dualStack.namespaces, seed), pods: shuffled(dualStack.pods, seed), networkPolicies: shuffled(dualStack.networkPolicies, seed), nodes: shuffled(dualStack.nodes!, seed) };
      assert.equal(toDesiredText(renderNetpol(s, cfg)), a, `seed ${seed}`);
    }
  });
  it('chain and set names do not change when unrelated pods and policies come and go', () => {
    const before = renderNetpol(workedExample, { nodeName: 'n1' }).families[0]!;
    const after = renderNetpol(
      {
        ...workedExample,
        pods: [...workedExample.pods, pod('x', 'c', { ips: ['10.42.0.12'] })],
        networkPolicies: [...workedExample.networkPolicies, policy('x', 'other', { podSelector: { matchLabels: { pod: 'c' } } })],
      },
      { nodeName: 'n1' },
    ).families[0]!;
    const names = (f: typeof before): Set<string> => new Set([...f.chains.map((c) => c.name), ...f.ipsets.map((s) => s.name)]);
    for (const n of names(before)) assert.ok(names(after).has(n), n);
  });
  it('NetpolRenderer gives exactly renderNetpol\'s output over a sequence of changing snapshots', () => {
    const renderer = new NetpolRenderer();
    const rng = new Rng(99);
    let snap = generateCase(1).snapshot;
    for (let step = 0; step < 120; step++) {
      // Mutate: swap in another case's policies, relabel, move or finish a pod, or change nothing.
      const k = rng.int(5);
      if (k === 0) snap = { ...snap, networkPolicies: generateCase(1000 + step).snapshot.networkPolicies };
      else if (k === 1 || k === 2) {
        const pods = snap.pods.slice();
        const i = rng.int(pods.length);
        const p = pods[i]!;
        const labels = k === 1 ? { pod: rng.pick(['a', 'b', 'c', 'd']) } : p.metadata.labels;
        const phase = k === 2 ? rng.pick(['Running', 'Succeeded', 'Pending']) : p.status?.phase;
        pods[i] = { ...p, metadata: { ...p.metadata, labels }, status: { ...p.status, phase } } as Pod;
        snap = { ...snap, pods };
      } else if (k === 3) {
        snap = { ...snap, namespaces: snap.namespaces.map((n) => (n.metadata.name === 'y' ? { metadata: { ...n.metadata, labels: { ns: rng.pick(['y', 'x']) } } } : n)) };
      } else if (rng.chance(0.5)) {
        // A pod goes away, or a new one (possibly a duplicate name) arrives.
        const pods = snap.pods.slice();
        if (rng.chance(0.5) && pods.length > 3) pods.splice(rng.int(pods.length), 1);
        else pods.splice(rng.int(pods.length + 1), 0, pod(rng.pick(['x', 'y', 'z']), rng.pick(['a', 'new', 'extra']), { node: rng.pick(['n1', 'n2']), ips: [`10.42.${1 + rng.int(2)}.${100 + step}`], labels: { pod: rng.pick(['a', 'b']) } }));
        snap = { ...snap, pods };
      }
      for (const nodeName of ['n1', 'n2']) {
        const cfg = { nodeName, families: ['IPv4', 'IPv6'] as const, defaultDeny: step % 2 === 0 };
        assert.equal(JSON.stringify(renderer.render(snap, cfg)), JSON.stringify(renderNetpol(snap, cfg)), `step ${step} ${nodeName}`);
      }
    }
  });
  it('NetpolRenderer: a pod joining peer sets changes those set objects and nothing else', () => {
    const renderer = new NetpolRenderer();
    const cfg = { nodeName: 'n1', families: ['IPv4', 'IPv6'] as const, defaultDeny: true };
    let changedPeerSets = 0;
    for (const seed of [3, 17, 42, 101]) {
      const snap = generateCase(seed).snapshot;
      const a = renderer.render(snap, cfg);
      // A remote pod without named ports: local pod chains, jumps and policy rules cannot change.
      const extra = pod('x', `joiner-${seed}`, { node: 'n2', labels: { pod: 'a' }, ips: [`10.42.2.${200 + (seed % 50)}`, `fd00:42:2::${200 + (seed % 50)}`] });
      const b = renderer.render({ ...snap, pods: [...snap.pods, extra] }, cfg);
      assert.equal(toDesiredText(b), toDesiredText(renderNetpol({ ...snap, pods: [...snap.pods, extra] }, cfg)), 'same output as a fresh render');
      for (let f = 0; f < a.families.length; f++) {
        const fa = a.families[f]!;
        const fb = b.families[f]!;
        const chainsA = new Map(fa.chains.map((c) => [c.name, c]));
        for (const c of fb.chains) assert.equal(c, chainsA.get(c.name), `seed ${seed} ${fb.family}: chain ${c.name} is a new object`);
        const setsA = new Map(fa.ipsets.map((x) => [x.name, x]));
        const referenced = new Set(fb.chains.flatMap((c) => c.rules.flatMap((r) => (r.sets ?? []).map((m) => m.set))));
        for (const x of fb.ipsets) {
          const before = setsA.get(x.name)!;
          const same = before.entries.length === x.entries.length && before.entries.every((e, i) => e.addr === x.entries[i]!.addr && e.nomatch === x.entries[i]!.nomatch);
          if (same) assert.equal(x, before, `seed ${seed} ${fb.family}: unchanged set ${x.name} is a new object`);
          else if (referenced.has(x.name)) changedPeerSets++;
        }
      }
    }
    assert.ok(changedPeerSets > 0, 'the joining pod changed no policy set: the case tests nothing');
  });

  it('NetpolRenderer returns the same chain and set objects when nothing changed', () => {
    const renderer = new NetpolRenderer();
    const cfg = { nodeName: 'n1', families: ['IPv4', 'IPv6'] as const };
    const a = renderer.render(dualStack, cfg);
    const b = renderer.render({ ...dualStack, pods: dualStack.pods.slice() }, cfg);
    for (let f = 0; f < a.families.length; f++) {
      const pa = a.families[f]!.chains.filter((c) => c.name.startsWith(Netpol.policyChainPrefix) && !/COMMON|DEFAULT|TAIL/.test(c.name));
      const pb = b.families[f]!.chains.filter((c) => c.name.startsWith(Netpol.policyChainPrefix) && !/COMMON|DEFAULT|TAIL/.test(c.name));
      assert.ok(pa.length > 0);
      pa.forEach((c, i) => assert.equal(pb[i], c));
      a.families[f]!.ipsets.forEach((s, i) => assert.equal(b.families[f]!.ipsets[i]!.entries, s.entries, s.name));
    }
  });
});
