// T3: the kind cluster itself, before any Portico component: ptp CNI with per-node routes (pods on
// different workers reach each other with their own source IPs, TCP and UDP), kube-proxy (iptables)
// serves a ClusterIP Service, CoreDNS resolves it, and the kubelets run at kind's defaults.
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { apply, deleteNamespace, kubectl, echoPodYaml, execIn, json, namespace, nodes, podIP, probeFrom, requireCluster, twoWorkers, until } from './cluster.ts';

const NS = 'e2e-network';

describe('kind cluster: CNI, kube-proxy, CoreDNS', () => {
  let a = { name: '', ip: '' };
  let b = { name: '', ip: '' };

  beforeAll(async () => {
    requireCluster();
    deleteNamespace(NS);
    await until(`namespace ${NS} gone`, () => json<{ items: unknown[] }>(['get', 'namespaces', '--field-selector', `metadata.name=${NS}`]).items.length === 0);
    namespace(NS);
    const [w1, w2] = twoWorkers();
    apply(echoPodYaml(NS, 'echo-a', w1.name, { app: 'echo', side: 'a' }));
    apply(echoPodYaml(NS, 'echo-b', w2.name, { app: 'echo', side: 'b' }));
    a = { name: 'echo-a', ip: await podIP(NS, 'echo-a') };
    b = { name: 'echo-b', ip: await podIP(NS, 'echo-b') };
  });
  afterAll(() => deleteNamespace(NS));

  test('every node is Ready and the kubelets allow no unsafe sysctls', () => {
    const all = nodes();
    assert.ok(all.filter((n) => n.worker && !n.external).length >= 2, 'two plain workers');
    for (const n of all) {
      const cfg = JSON.parse(kubectl(['get', '--raw', `/api/v1/nodes/${n.name}/proxy/configz`]));
      assert.deepEqual(cfg.kubeletconfig.allowedUnsafeSysctls ?? [], [], `${n.name}: allowedUnsafeSysctls`);
    }
  });

  test('pods on different workers reach each other over TCP and UDP with their own source IPs', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      assert.equal(probeFrom(NS, a.name, proto, `${b.ip}:8080`, `a-to-b-${proto}`), `echo-b ${a.ip} a-to-b-${proto}`);
      assert.equal(probeFrom(NS, b.name, proto, `${a.ip}:8080`, `b-to-a-${proto}`), `echo-a ${b.ip} b-to-a-${proto}`);
    }
  });

  test('a ClusterIP Service (kube-proxy, iptables) answers by IP and by its DNS name from the other node', async () => {
    apply(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'echo-b', namespace: NS },
        spec: {
          selector: { side: 'b' },
          ports: [
            { name: 'tcp', port: 80, targetPort: 8080, protocol: 'TCP' },
            { name: 'udp', port: 81, targetPort: 8080, protocol: 'UDP' },
          ],
        },
      }),
    );
    const ip = json(['-n', NS, 'get', 'service', 'echo-b']).spec.clusterIP as string;
    // wait for this Service's own answer: before kube-proxy has its rules, a packet to the ClusterIP
    // leaves unrouted and something else on the path may answer (a 400 from the host was seen)
    await until('the Service to answer', () => probeFrom(NS, a.name, 'tcp', `${ip}:80`, 'wait') === `echo-b ${a.ip} wait`, 60_000);
    assert.equal(probeFrom(NS, a.name, 'tcp', `${ip}:80`, 'svc'), `echo-b ${a.ip} svc`);
    assert.equal(probeFrom(NS, a.name, 'udp', `${ip}:81`, 'svc-udp'), `echo-b ${a.ip} svc-udp`);
    assert.equal(probeFrom(NS, a.name, 'tcp', `echo-b.${NS}.svc.cluster.local:80`, 'dns'), `echo-b ${a.ip} dns`);
  });

  test('kube-proxy runs in iptables mode', () => {
    const cm = json(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy']);
    assert.match(cm.data['config.conf'], /^mode: iptables$/m);
    const w = twoWorkers()[0];
    assert.match(execIn(w.name, 'iptables-save -t nat | grep -c KUBE-SVC- || true'), /^[1-9]/);
  });
});
