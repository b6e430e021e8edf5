import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { programNames } from '@portico/labels';
import { isCanonical } from './canonical.ts';
import { serviceLBConfig } from './config.ts';
import { buildDaemonSet, type DaemonSetContext } from './daemonset.ts';
import { EXCLUDE_LABEL_FALSE_VALUES } from './nodes.ts';
import { names, svc } from './testing/index.ts';
import type { DaemonSet, Service } from './types.ts';

const config = serviceLBConfig({ image: 'ghcr.io/portico/lb-forwarder:1.0.0' });
const ctx: DaemonSetContext = { config, names, allowList: false };

function build(s: Service, c: Partial<DaemonSetContext> = {}): DaemonSet {
  const r = buildDaemonSet(s, { ...ctx, ...c });
  assert.ok(r.ok, JSON.stringify(r));
  return r.daemonSet;
}
const podSpec = (ds: DaemonSet) => ds.spec!.template!.spec!;
const env = (ds: DaemonSet, i = 0) => podSpec(ds).containers![i]!.env;

describe('buildDaemonSet: metadata, selector, strategy (spec §5.2)', () => {
  const ds = build(svc('web', { namespace: 'shop' }));
  it('is an apps/v1 DaemonSet named svclb-<name>-<uid8> in the LB namespace', () => {
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(ds.kind, 'DaemonSet');
    assert.equal(ds.metadata!.name, 'svclb-web-35a5ccb3');
    assert.equal(ds.metadata!.namespace, 'kube-system');
  });
  it('carries the nodeselector, svcname and svcnamespace labels and nothing else', () => {
    assert.deepEqual(ds.metadata!.labels, {
      'svccontroller.k3s.cattle.io/nodeselector': 'false',
      'svccontroller.k3s.cattle.io/svcname': 'web',
      'svccontroller.k3s.cattle.io/svcnamespace': 'shop',
    });
    assert.equal(ds.metadata!.annotations, undefined, 'no wrangler objectset annotations: Portico uses server-side apply');
  });
  it('selects pods by app=<name> and rolls one node at a time', () => {
    assert.deepEqual(ds.spec!.selector, { matchLabels: { app: 'svclb-web-35a5ccb3' } });
    assert.deepEqual(ds.spec!.updateStrategy, { rollingUpdate: { maxUnavailable: 1 }, type: 'RollingUpdate' });
    assert.deepEqual(ds.spec!.template!.metadata!.labels, { app: 'svclb-web-35a5ccb3', 'svccontroller.k3s.cattle.io/svcname': 'web', 'svccontroller.k3s.cattle.io/svcnamespace': 'shop' });
  });
  it('is emitted with every object key in canonical order', () => assert.ok(isCanonical(ds)));
  it('uses the configured namespace and derives every key from the program name', () => {
    const d = build(svc('web'), { config: serviceLBConfig({ namespace: 'portico-lb', program: 'rke2' }), names: programNames('rke2') });
    assert.equal(d.metadata!.namespace, 'portico-lb');
    assert.deepEqual(Object.keys(d.metadata!.labels!), ['svccontroller.rke2.cattle.io/nodeselector', 'svccontroller.rke2.cattle.io/svcname', 'svccontroller.rke2.cattle.io/svcnamespace']);
  });
});

describe('buildDaemonSet: pod template (spec §5.3)', () => {
  it('uses the svclb ServiceAccount without a token', () => {
    const p = podSpec(build(svc('web')));
    assert.equal(p.serviceAccountName, 'svclb');
    assert.equal(p.automountServiceAccountToken, false);
  });
  it('uses the config default priority class when the annotation is absent', () => {
    assert.equal(podSpec(build(svc('web'))).priorityClassName, 'system-node-critical');
  });
  it('uses the priority class annotation when present', () => {
    const s = svc('web', { annotations: { [names.priorityClassAnnotation]: 'lb-critical' } });
    assert.equal(podSpec(build(s)).priorityClassName, 'lb-critical');
  });
  it('keeps an empty priority class annotation as empty (no priorityClassName), K3s parity', () => {
    const s = svc('web', { annotations: { [names.priorityClassAnnotation]: '' } });
    assert.equal(podSpec(build(s)).priorityClassName, undefined);
  });
  it('rejects an invalid priority class annotation with a problem naming it', () => {
    const s = svc('web', { annotations: { [names.priorityClassAnnotation]: 'Not_Valid' } });
    const r = buildDaemonSet(s, ctx);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.problems.map((p) => [p.field, p.value]), [[`annotation ${names.priorityClassAnnotation}`, 'Not_Valid']]);
  });
  const sysctlCases: { name: string; families: string[]; want: unknown }[] = [
    { name: 'IPv4 only sets net.ipv4.ip_forward', families: ['IPv4'], want: { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] } },
    { name: 'IPv6 only sets net.ipv6.conf.all.forwarding', families: ['IPv6'], want: { sysctls: [{ name: 'net.ipv6.conf.all.forwarding', value: '1' }] } },
    { name: 'dual-stack IPv6-primary keeps ipFamilies order', families: ['IPv6', 'IPv4'], want: { sysctls: [{ name: 'net.ipv6.conf.all.forwarding', value: '1' }, { name: 'net.ipv4.ip_forward', value: '1' }] } },
    { name: 'no ipFamilies gives an empty securityContext', families: [], want: {} },
  ];
  for (const c of sysctlCases) {
    it(`sysctls: ${c.name}`, () => assert.deepEqual(podSpec(build(svc('web', { ipFamilies: c.families, clusterIPs: [] }))).securityContext, c.want));
  }
  const initConfig = serviceLBConfig({ image: 'ghcr.io/portico/lb-forwarder:1.0.0', forwardingMode: 'init-container' });
  const initCases: { name: string; families: string[]; args: string[] | undefined }[] = [
    { name: 'IPv4 only enables IPv4 forwarding', families: ['IPv4'], args: ['enable-forwarding', '--families', 'IPv4'] },
    { name: 'dual-stack IPv6-primary keeps ipFamilies order', families: ['IPv6', 'IPv4'], args: ['enable-forwarding', '--families', 'IPv6,IPv4'] },
    { name: 'no ipFamilies: no init container', families: [], args: undefined },
  ];
  for (const c of initCases) {
    it(`init-container forwarding: ${c.name}; never pod sysctls`, () => {
      const spec = podSpec(build(svc('web', { ipFamilies: c.families, clusterIPs: [] }), { config: initConfig }));
      assert.deepEqual(spec.securityContext, {});
      if (c.args === undefined) return assert.equal(spec.initContainers, undefined);
      assert.deepEqual(spec.initContainers, [
        { args: c.args, image: 'ghcr.io/portico/lb-forwarder:1.0.0', imagePullPolicy: 'IfNotPresent', name: 'enable-forwarding', securityContext: { privileged: true } },
      ]);
      assert.ok(isCanonical(spec.initContainers));
    });
  }
  it('tolerations: the two defaults first, then the annotation ones in order', () => {
    const s = svc('web', { annotations: { [names.tolerationsAnnotation]: '[{"key":"b","operator":"Exists"},{"key":"a","operator":"Equal","value":"x","effect":"NoSchedule"}]' } });
    assert.deepEqual(podSpec(build(s)).tolerations, [
      { effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
      { key: 'b', operator: 'Exists' },
      { effect: 'NoSchedule', key: 'a', operator: 'Equal', value: 'x' },
    ]);
  });
  it('an invalid tolerations annotation fails the build with every problem listed', () => {
    const s = svc('web', { annotations: { [names.tolerationsAnnotation]: '[{"value":"x"}]', 'service.beta.kubernetes.io/load-balancer-source-ranges': 'bogus' } });
    const r = buildDaemonSet(s, ctx);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.name, 'svclb-web-35a5ccb3');
      assert.deepEqual(r.problems.map((p) => p.field), [`annotation ${names.tolerationsAnnotation}`, 'annotation service.beta.kubernetes.io/load-balancer-source-ranges']);
    }
  });
  it('no hostNetwork, no resources, no probes, no volumes', () => {
    const p = podSpec(build(svc('web'))) as Record<string, unknown>;
    for (const f of ['hostNetwork', 'volumes', 'resources']) assert.equal(p[f], undefined, f);
    const c = (p['containers'] as Record<string, unknown>[])[0]!;
    for (const f of ['readinessProbe', 'livenessProbe', 'resources', 'volumeMounts']) assert.equal(c[f], undefined, f);
  });
});

describe('buildDaemonSet: containers and env (spec §5.4–§5.7)', () => {
  it('one container per port, named lb-<proto>-<port>, with hostPort = port and NET_ADMIN', () => {
    const s = svc('web', { ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }, { port: 443, protocol: 'TCP', nodePort: 30443 }] });
    const cs = podSpec(build(s)).containers!;
    assert.deepEqual(cs.map((c) => c.name), ['lb-tcp-80', 'lb-tcp-443']);
    assert.deepEqual(cs[1]!.ports, [{ containerPort: 443, hostPort: 443, name: 'lb-tcp-443', protocol: 'TCP' }]);
    assert.deepEqual(cs[0]!.securityContext, { capabilities: { add: ['NET_ADMIN'] } });
    assert.equal(cs[0]!.image, 'ghcr.io/portico/lb-forwarder:1.0.0');
    assert.equal(cs[0]!.imagePullPolicy, 'IfNotPresent');
  });
  it('mixed protocols on one port give two containers asking for the port once per protocol', () => {
    const s = svc('dns', { ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }, { port: 53, protocol: 'TCP', nodePort: 30053 }] });
    const cs = podSpec(build(s)).containers!;
    assert.deepEqual(cs.map((c) => [c.name, c.ports[0]!.hostPort, c.ports[0]!.protocol]), [['lb-udp-53', 53, 'UDP'], ['lb-tcp-53', 53, 'TCP']]);
  });
  it('SCTP is lower-cased in the name and kept upper-case in DEST_PROTO', () => {
    const c = podSpec(build(svc('s', { ports: [{ port: 9999, protocol: 'SCTP', nodePort: 31999 }] }))).containers![0]!;
    assert.equal(c.name, 'lb-sctp-9999');
    assert.deepEqual(c.env.find((e) => e.name === 'DEST_PROTO'), { name: 'DEST_PROTO', value: 'SCTP' });
  });
  it('a port without protocol defaults to TCP', () => {
    assert.equal(podSpec(build(svc('s', { ports: [{ port: 81 }] }))).containers![0]!.name, 'lb-tcp-81');
  });
  it('Cluster policy: env in exact order, DEST_PORT = port, DEST_IPS = clusterIPs joined', () => {
    const s = svc('web', { ipFamilies: ['IPv4', 'IPv6'], clusterIPs: ['10.43.0.10', 'fd00:43::10'], ports: [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] });
    assert.deepEqual(env(build(s)), [
      { name: 'SRC_PORT', value: '80' },
      { name: 'SRC_RANGES', value: '0.0.0.0/0,::/0' },
      { name: 'DEST_PROTO', value: 'TCP' },
      { name: 'DEST_PORT', value: '80' },
      { name: 'DEST_IPS', value: '10.43.0.10,fd00:43::10' },
    ]);
  });
  it('Local policy: DEST_PORT = nodePort and DEST_IPS from the downward API status.hostIPs', () => {
    const s = svc('web', { etp: 'Local' });
    assert.deepEqual(env(build(s)).slice(3), [
      { name: 'DEST_PORT', value: '30080' },
      { name: 'DEST_IPS', valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } },
    ]);
  });
  it('Local with allocateLoadBalancerNodePorts=false gives DEST_PORT "0" (K3s parity, §10.17)', () => {
    const s = svc('web', { etp: 'Local', allocateLoadBalancerNodePorts: false, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] });
    assert.deepEqual(env(build(s))[3], { name: 'DEST_PORT', value: '0' });
  });
  it('targetPort is never used', () => {
    const s = svc('web', { ports: [{ port: 80, protocol: 'TCP', targetPort: 9999, nodePort: 30080 }] });
    assert.ok(!JSON.stringify(env(build(s))).includes('9999'));
  });
  it('a LoadBalancer Service without ports is a problem, not a DaemonSet without containers', () => {
    const r = buildDaemonSet(svc('web', { ports: [] }), ctx);
    assert.equal(r.ok, false);
  });
});

describe('buildDaemonSet: node selection (spec §5.8)', () => {
  it('not in allow-list mode: no nodeSelector and nodeselector label "false", lbpool ignored', () => {
    const ds = build(svc('web', { labels: { [names.lbPoolLabel]: 'pool1' } }), { allowList: false });
    assert.equal(podSpec(ds).nodeSelector, undefined);
    assert.equal(ds.metadata!.labels![names.nodeSelectorLabel], 'false');
  });
  it('allow-list mode: nodeSelector enablelb=true and label "true"', () => {
    const ds = build(svc('web'), { allowList: true });
    assert.deepEqual(podSpec(ds).nodeSelector, { [names.enableLbLabel]: 'true' });
    assert.equal(ds.metadata!.labels![names.nodeSelectorLabel], 'true');
  });
  it('allow-list mode with an lbpool Service label adds the pool to the nodeSelector', () => {
    const ds = build(svc('web', { labels: { [names.lbPoolLabel]: 'pool1' } }), { allowList: true });
    assert.deepEqual(podSpec(ds).nodeSelector, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'pool1' });
  });
  it('an empty lbpool label adds nothing', () => {
    const ds = build(svc('web', { labels: { [names.lbPoolLabel]: '' } }), { allowList: true });
    assert.deepEqual(podSpec(ds).nodeSelector, { [names.enableLbLabel]: 'true' });
  });
  it('Portico fix for K3s §10.12: required node affinity keeps pods off exclude-from-external-load-balancers nodes', () => {
    assert.deepEqual(podSpec(build(svc('web'))).affinity, {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'node.kubernetes.io/exclude-from-external-load-balancers', operator: 'DoesNotExist' }] },
            { matchExpressions: [{ key: 'node.kubernetes.io/exclude-from-external-load-balancers', operator: 'In', values: EXCLUDE_LABEL_FALSE_VALUES }] },
          ],
        },
      },
    });
  });
});
