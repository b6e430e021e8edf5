import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { ServiceLBSnapshot } from './api.ts';
import { serviceLBConfig } from './config.ts';
import { reconcile } from './reconcile.ts';
import { renderServiceLB } from './render.ts';
import { names, node, slice, svc, svclbPod } from './testing/index.ts';
import type { DaemonSet, Service } from './types.ts';
import { validateEndpointSlice, validateNode, validatePod, validateService } from './validate.ts';

const NOW = '2026-03-01T12:00:00Z';
const config = serviceLBConfig();
const snap = (p: Partial<ServiceLBSnapshot>): ServiceLBSnapshot => ({ services: [], nodes: [], pods: [], endpointSlices: [], daemonSets: [], ...p });

/** A valid Service with `spec` (or the whole object) changed as a JSON-level mutation. */
/** A Service as plain JSON that a test may break anywhere. */
interface Loose {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown> & { ports: Record<string, unknown>[] };
}

function bad(change: (s: Loose) => void): Service {
  const s = structuredClone(svc('web')) as unknown as Loose;
  change(s);
  return s as unknown as Service;
}

const port0 = (v: unknown) => bad((s) => (s.spec.ports[0]!['port'] = v));

// The cases issue 15 lists, each with the field and the words the problem must carry.
const CASES: { name: string; service: Service; field: string; value: string; says: RegExp }[] = [
  { name: 'port as a string', service: port0('http'), field: 'spec.ports[0].port', value: 'http', says: /integer between 1 and 65535, not a string/ },
  { name: 'negative port', service: port0(-5), field: 'spec.ports[0].port', value: '-5', says: /integer between 1 and 65535/ },
  { name: 'port 0', service: port0(0), field: 'spec.ports[0].port', value: '0', says: /integer between 1 and 65535/ },
  { name: 'port above 65535', service: port0(65536), field: 'spec.ports[0].port', value: '65536', says: /integer between 1 and 65535/ },
  { name: 'fractional port', service: port0(80.5), field: 'spec.ports[0].port', value: '80.5', says: /integer/ },
  { name: 'huge port', service: port0(1e20), field: 'spec.ports[0].port', value: '100000000000000000000', says: /integer/ },
  { name: 'protocol ICMP', service: bad((s) => (s.spec.ports[0]!['protocol'] = 'ICMP')), field: 'spec.ports[0].protocol', value: 'ICMP', says: /TCP, UDP, SCTP/ },
  { name: 'clusterIP 999.1.1.1', service: bad((s) => (s.spec['clusterIP'] = '999.1.1.1')), field: 'spec.clusterIP', value: '999.1.1.1', says: /valid IP address/ },
  {
    name: 'two ports with one name',
    service: bad((s) => s.spec.ports.push({ name: 'http', protocol: 'TCP', port: 81, nodePort: 30081 })),
    field: 'spec.ports[1].name',
    value: 'http',
    says: /duplicate port name/,
  },
  { name: 'labels as a string', service: bad((s) => (s.metadata['labels'] = 'app=web')), field: 'metadata.labels', value: 'app=web', says: /must be a map, not a string/ },
  { name: 'ports as a map', service: bad((s) => (s.spec['ports'] = { http: { port: 80 } } as never)), field: 'spec.ports', value: '{"http":{"port":80}}', says: /must be a list, not a map/ },
];

describe('validateService: the shapes and values issue 15 lists', () => {
  it('accepts the test builders\' Service', () => assert.deepEqual(validateService(svc('web')), []));
  for (const c of CASES) {
    it(`${c.name}: names the field and the value`, () => {
      const found = validateService(c.service);
      const p = found.find((x) => x.field === c.field);
      assert.ok(p, `no problem for ${c.field} in ${JSON.stringify(found)}`);
      assert.equal(p.value, c.value);
      assert.match(p.message, c.says);
    });
  }
  it('a second port without a name, an unnamed pair of the same port and protocol, a bad targetPort and a bad family', () => {
    const s = bad((x) => {
      x.spec.ports.push({ protocol: 'TCP', port: 80, targetPort: 'Not_A_Name' });
      x.spec['ipFamilies'] = ['IPv5'];
    });
    const fields = validateService(s).map((p) => p.field);
    assert.deepEqual(fields, ['spec.ports[1].name', 'spec.ports[1]', 'spec.ports[1].targetPort', 'spec.ipFamilies[0]']);
  });
  it('never throws, whatever the value', () => {
    for (const v of [null, undefined, 0, 'x', [], [1], { metadata: 'x' }, { metadata: { name: 7 }, spec: [], status: 'up' }, { spec: { ports: [null, 'x', []] } }]) {
      assert.ok(Array.isArray(validateService(v)));
      assert.ok(Array.isArray(validateNode(v)));
      assert.ok(Array.isArray(validatePod(v)));
      assert.ok(Array.isArray(validateEndpointSlice(v)));
    }
  });
});

describe('an invalid Service never widens', () => {
  const n1 = node('n1', { internal: ['10.0.0.1'] });

  it('gets no DaemonSet, its status the InvalidService condition and a Warning InvalidService Event naming field and value', () => {
    const r = reconcile(snap({ services: [port0('http')], nodes: [n1] }), config, NOW);
    const o = r.services[0]!;
    assert.equal(o.state, 'invalid');
    assert.deepEqual(o.daemonSet, { action: 'none' });
    assert.deepEqual(r.daemonSets, []);
    assert.equal(o.status.action, 'patch');
    const cond = o.status.action === 'patch' ? o.status.status.conditions[0]! : undefined;
    assert.equal(cond?.reason, 'InvalidService');
    assert.equal(cond?.status, 'False');
    assert.deepEqual(
      o.events.map((e) => `${e.type} ${e.reason}`),
      ['Warning InvalidService'],
    );
    assert.match(o.events[0]!.message, /spec\.ports\[0\]\.port: invalid value "http": must be an integer between 1 and 65535, not a string; no DaemonSet is created/);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.kind, 'Service');
  });

  it('keeps the DaemonSet of its last valid version unchanged (never rebuilt from the bad object), and its ingress', () => {
    const good = svc('web');
    const before = reconcile(snap({ services: [good], nodes: [n1], pods: [svclbPod(good, 'n1')] }), config, NOW);
    const ds = before.daemonSets[0]! as DaemonSet;
    const applied = before.services[0]!.status.action === 'patch' ? before.services[0]!.status.status : undefined;
    const broken = { ...port0(-5), status: applied } as Service;
    const after = reconcile(snap({ services: [broken], nodes: [n1], pods: [svclbPod(good, 'n1')], daemonSets: [ds] }), config, NOW);
    const o = after.services[0]!;
    assert.deepEqual(o.daemonSet, { action: 'keep', name: ds.metadata!.name });
    assert.deepEqual(after.daemonSets.map((d) => JSON.stringify(d.spec)), [JSON.stringify(ds.spec)]);
    assert.deepEqual(after.orphans, []);
    assert.equal(o.status.action, 'patch');
    if (o.status.action === 'patch') assert.deepEqual(o.status.status.loadBalancer, applied?.loadBalancer);
  });

  it('one invalid Service does not change the output of the others', () => {
    const other = svc('other', { uid: '11111111-2222-3333-4444-555555555555' });
    const alone = reconcile(snap({ services: [other], nodes: [n1] }), config, NOW);
    const withBad = reconcile(snap({ services: [other, port0(0)], nodes: [n1] }), config, NOW);
    assert.deepEqual(withBad.daemonSets, alone.daemonSets);
    assert.deepEqual(withBad.services.find((s) => s.name === 'other'), alone.services[0]);
  });

  it('an invalid Node that carries the allow-list label keeps allow-list mode on (no svclb pods on every node)', () => {
    const labelled = { ...node('n2', { labels: { [names.enableLbLabel]: 'true' } }), spec: { taints: 'oops' } } as never;
    const r = reconcile(snap({ services: [svc('web')], nodes: [n1, labelled] }), config, NOW);
    assert.deepEqual(r.daemonSets[0]!.spec!.template!.spec!.nodeSelector, { [names.enableLbLabel]: 'true' });
    assert.deepEqual(r.problems.map((p) => `${p.kind} ${p.name} ${p.field}`), ['Node n2 spec.taints']);
  });

  it('invalid Pods and EndpointSlices are left out: no ingress from them', () => {
    const web = svc('web', { etp: 'Local' });
    const pod = svclbPod(web, 'n1');
    const badPod = { ...pod, status: { ...pod.status, conditions: { Ready: true } } } as never;
    const r1 = reconcile(snap({ services: [web], nodes: [n1], pods: [badPod], endpointSlices: [slice(web, [{ node: 'n1', ready: true }])] }), config, NOW);
    assert.equal(r1.services[0]!.state, 'pending');
    const badSlice = { ...slice(web, [{ node: 'n1', ready: true }]), endpoints: { a: 1 } } as never;
    const r2 = reconcile(snap({ services: [web], nodes: [n1], pods: [pod], endpointSlices: [badSlice] }), config, NOW);
    assert.deepEqual(r2.services[0]!.status.action === 'patch' ? r2.services[0]!.status.status.loadBalancer : undefined, {});
    assert.deepEqual(r2.problems.map((p) => p.field), ['endpoints']);
  });

  it('render gives no documents and one line per problem, naming object, field and value', () => {
    const r = renderServiceLB([port0('http'), { ...port0(70000), metadata: { ...port0(1).metadata, name: 'web2' } }], config, { now: NOW });
    assert.deepEqual([...r.documents], []);
    assert.deepEqual(r.problems, [
      'Service default/web: spec.ports[0].port: "http": must be an integer between 1 and 65535, not a string',
      'Service default/web2: spec.ports[0].port: "70000": must be an integer between 1 and 65535',
    ]);
  });
});
