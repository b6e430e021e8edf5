// T3: Portico deployed for real. The images from tools/images/build-all are loaded into the kind
// cluster, deploy/helm/portico is `helm install`ed (ServiceLB controller, netpol-agent, ccm,
// addon-manager with the HelmChart controller), and real traffic from the host checks issue 10
// item 5; then the documented uninstall (docs/deploy.md) must leave nothing of Portico behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apply,
  CLUSTER,
  deleteNamespace,
  echoPodYaml,
  execIn,
  json,
  kubectl,
  namespace,
  nodes,
  podIP,
  probeFrom,
  requireCluster,
  run,
  twoWorkers,
  until,
  untilAsync,
  type Json,
} from './cluster.ts';

const RELEASE = 'portico';
const RELEASE_NS = 'kube-system';
const LB_NS = 'e2e-lb';
const NP_NS = 'e2e-netpol';
const ADDON_CM = 'e2e-addon-manifest';
const HELMCHART = 'e2e-inline';
const CRDS = ['addons.k3s.cattle.io', 'helmcharts.helm.cattle.io', 'helmchartconfigs.helm.cattle.io'];

let tmp = '';

/** One line from a TCP echo at host:port, sent from this (host) process; null on no answer. */
function tcpFromHost(host: string, port: number, msg: string, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    let data = '';
    const s = connect({ host, port });
    const done = (v: string | null): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    s.on('connect', () => s.write(`${msg}\n`));
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\n')) done(data.trim());
    });
    s.on('error', () => done(null));
  });
}

/** The reply to one UDP datagram sent from the host; null on no answer. */
function udpFromHost(host: string, port: number, msg: string, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: string | null): void => {
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    s.on('message', (m) => done(m.toString().trim()));
    s.on('error', () => done(null));
    s.send(`${msg}\n`, port, host);
  });
}

/** The host's address on the kind Docker network (the gateway the nodes see traffic from). */
function hostAddressOnKindNetwork(): string {
  const net = JSON.parse(run('docker', ['network', 'inspect', 'kind']))[0];
  const v4 = (net.IPAM.Config as { Subnet: string; Gateway?: string }[]).find((c) => c.Subnet.includes('.'));
  assert.ok(v4?.Gateway, 'the kind network has an IPv4 gateway');
  return v4.Gateway;
}

function lbService(name: string, selector: Record<string, string>, local: boolean): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: LB_NS },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: local ? 'Local' : 'Cluster',
      selector,
      ports: [
        { name: 'tcp', port: local ? 9180 : 9080, targetPort: 8080, protocol: 'TCP' },
        { name: 'udp', port: local ? 9181 : 9081, targetPort: 8080, protocol: 'UDP' },
      ],
    },
  });
}

/** Whether kube-proxy's nat rules (iptables-save text) send `ip:port/proto` to a Service (KUBE-EXT/KUBE-FW). */
function lbIPRule(nat: string, ip: string, proto: 'tcp' | 'udp', port: number): boolean {
  return nat.split('\n').some((l) => l.startsWith(`-A KUBE-SERVICES -d ${ip}/32 -p ${proto} `) && l.includes(`--dport ${port} `) && /-j KUBE-(EXT|FW)-/.test(l));
}

function ingressIPs(name: string): string[] {
  const s = json(['-n', LB_NS, 'get', 'service', name]);
  return ((s.status.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip ?? '').filter(Boolean).sort();
}

/** A tiny chart (one ConfigMap from .Values.greeting), packaged and base64-encoded. */
function inlineChart(): string {
  const dir = join(tmp, 'chart');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: e2e-inline\nversion: 0.1.0\n');
  writeFileSync(join(dir, 'values.yaml'), 'greeting: default\n');
  writeFileSync(
    join(dir, 'templates', 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e2e-helmchart-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
  );
  run('helm', ['package', dir, '--destination', tmp]);
  return readFileSync(join(tmp, 'e2e-inline-0.1.0.tgz')).toString('base64');
}

/** Chains and ipsets of Portico's components on a node (netpol-agent: kube-router's names). */
function porticoNodeLeftovers(node: string): string[] {
  const out = execIn(
    node,
    `for t in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do command -v $t >/dev/null && $t 2>/dev/null; done | grep -E '^:(KUBE-ROUTER|KUBE-POD-FW-|KUBE-NWPLCY-|KUBE-SRC-|KUBE-DST-)|-j KUBE-ROUTER' || true
     command -v ipset >/dev/null && ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-SRC-|KUBE-DST-|kube-router-local-pods|TMP-)' || true`,
  );
  return out.split('\n').filter(Boolean);
}

describe('Portico on kind: helm install, real traffic, uninstall', () => {
  before(async () => {
    requireCluster();
    tmp = mkdtempSync(join(tmpdir(), 'portico-e2e-'));
    for (const ns of [LB_NS, NP_NS]) deleteNamespace(ns);

    // Images: exactly what tools/images/build-all built, loaded into every node.
    const refs = run('bash', ['tools/images/build-all'], { timeoutMs: 1_800_000 }).trim().split('\n').filter(Boolean);
    assert.ok(refs.length >= 5, `tools/images/build-all printed ${refs.length} image references`);
    run('kind', ['load', 'docker-image', '--name', CLUSTER, ...refs], { timeoutMs: 900_000 });

    const manifest = join(tmp, 'addon.yaml');
    writeFileSync(
      manifest,
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${ADDON_CM}\n  namespace: default\ndata:\n  from: addon-manager\n`,
    );
    run(
      'helm',
      [
        'upgrade', '--install', RELEASE, 'deploy/helm/portico', '--namespace', RELEASE_NS,
        '--set', 'ccm.enabled=true',
        '--set', 'addonManager.enabled=true',
        '--set-string', 'addonManager.helmController=true',
        '--set-file', `addonManager.manifests.e2e-addon\\.yaml=${manifest}`,
        '--set', 'netpolAgent.serviceCIDRs={10.96.0.0/16}',
        // build-all tags with $PORTICO_IMAGE_REGISTRY (default ghcr.io): install exactly those.
        ...(process.env.PORTICO_IMAGE_REGISTRY ? ['--set', `global.imageRegistry=${process.env.PORTICO_IMAGE_REGISTRY}`] : []),
        '--wait', '--timeout', '5m',
      ],
      { timeoutMs: 400_000 },
    );
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('every component runs: netpol-agent on every node, the controllers Ready', () => {
    const ds = json(['-n', RELEASE_NS, 'get', 'daemonsets', '-l', 'app.kubernetes.io/part-of=portico']);
    const agent = (ds.items as Json[]).find((d) => d.metadata.name.includes('netpol-agent'));
    assert.ok(agent, 'the netpol-agent DaemonSet');
    assert.equal(agent.status.numberReady, nodes().length, 'netpol-agent Ready on every node');
    const deps = json(['-n', RELEASE_NS, 'get', 'deployments', '-l', 'app.kubernetes.io/part-of=portico']).items as Json[];
    for (const want of ['servicelb-controller', 'ccm', 'addon-manager']) {
      const d = deps.find((x) => x.metadata.name.includes(want));
      assert.ok(d, `a ${want} Deployment`);
      assert.equal(d.status.readyReplicas, d.spec.replicas, `${want} Ready`);
    }
  });

  test('a node joined with --cloud-provider=external is initialised by the ccm', async () => {
    const ext = nodes().find((n) => n.external);
    assert.ok(ext, 'the --cloud-provider=external worker (e2e/kind/up --external-node)');
    const flags = execIn(ext.name, 'cat /var/lib/kubelet/kubeadm-flags.env');
    assert.match(flags, /--cloud-provider=external/, `${ext.name}'s kubelet runs with --cloud-provider=external`);
    const node = await until(
      `${ext.name} without the uninitialized taint`,
      () => {
        const n = json(['get', 'node', ext.name]);
        const tainted = ((n.spec.taints ?? []) as { key: string }[]).some((t) => t.key === 'node.cloudprovider.kubernetes.io/uninitialized');
        return tainted ? undefined : n;
      },
      120_000,
    );
    const dockerIP = run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', ext.name]).trim();
    const internal = (node.status.addresses as { type: string; address: string }[]).filter((a) => a.type === 'InternalIP').map((a) => a.address);
    assert.deepEqual(internal, [dockerIP], 'InternalIP = the kubelet --node-ip');
    assert.match(node.spec.providerID, /^kind:\/\//, 'an existing providerID is kept');
    assert.equal(node.metadata.labels['node.kubernetes.io/instance-type'], 'k3s', 'instance-type label (docs/ccm.md)');
    const events = json(['-n', 'default', 'get', 'events', '--field-selector', `involvedObject.name=${ext.name},reason=Synced`]);
    assert.ok((events.items as Json[]).length > 0, 'a Synced Event for the node');
  });

  describe('ServiceLB', () => {
    let w1 = { name: '', ip: '' };
    let w2 = { name: '', ip: '' };
    before(async () => {
      [w1, w2] = twoWorkers();
      namespace(LB_NS);
      apply(echoPodYaml(LB_NS, 'echo-a', w1.name, { app: 'lb-echo', side: 'a' }));
      apply(echoPodYaml(LB_NS, 'echo-b', w2.name, { app: 'lb-echo', side: 'b' }));
      await podIP(LB_NS, 'echo-a');
      await podIP(LB_NS, 'echo-b');
      apply(lbService('echo', { app: 'lb-echo' }, false));
      apply(lbService('echo-local', { side: 'a' }, true));
    });

    test('a LoadBalancer Service gets the nodes IPs as ingress; TCP and UDP from the host reach the backends', async () => {
      const all = nodes();
      const ips = await until('ingress on both workers', () => {
        const got = ingressIPs('echo');
        return got.includes(w1.ip) && got.includes(w2.ip) ? got : undefined;
      }, 180_000, 2000);
      for (const ip of ips) assert.ok(all.some((n) => n.ip === ip), `ingress ${ip} is a node's InternalIP`);
      for (const ip of ips) {
        const tcp = await untilAsync(`TCP ${ip}:9080 from the host`, () => tcpFromHost(ip, 9080, 'lb-tcp'), 60_000);
        assert.match(tcp, /^echo-[ab] \S+ lb-tcp$/, `TCP reply via ${ip}`);
        const udp = await untilAsync(`UDP ${ip}:9081 from the host`, () => udpFromHost(ip, 9081, 'lb-udp'), 30_000);
        assert.match(udp, /^echo-[ab] \S+ lb-udp$/, `UDP reply via ${ip}`);
      }
    });

    test('externalTrafficPolicy: Local keeps the client source IP', async () => {
      const client = hostAddressOnKindNetwork();
      // Only the node with a Ready endpoint (echo-a on w1) is listed.
      const ingress = await until('ingress of echo-local', () => (ingressIPs('echo-local').length > 0 ? ingressIPs('echo-local') : undefined), 180_000, 2000);
      assert.deepEqual(ingress, [w1.ip], 'a Local Service lists only the nodes with a Ready endpoint');
      // The client address survives because the node's kube-proxy answers for the ingress IP itself
      // (ipMode VIP) before the hostPort DNAT to the svclb pod; what reaches the svclb pod is
      // masqueraded, as in K3s (docs/servicelb.md "Client source IP"). kube-proxy programs the
      // ingress IP on its next sync after the status is written: wait for exactly that rule on w1,
      // then the very first answer must carry the client's address.
      await until(`kube-proxy on ${w1.name} to serve ${w1.ip}:9180/tcp and 9181/udp`, () => {
        const nat = execIn(w1.name, 'iptables-save -t nat');
        return lbIPRule(nat, w1.ip, 'tcp', 9180) && lbIPRule(nat, w1.ip, 'udp', 9181) ? true : undefined;
      }, 60_000, 500);
      const tcp = await untilAsync(`TCP ${w1.ip}:9180 from the host`, () => tcpFromHost(w1.ip, 9180, 'local-tcp'), 60_000);
      assert.equal(tcp, `echo-a ${client} local-tcp`);
      const udp = await untilAsync(`UDP ${w1.ip}:9181 from the host`, () => udpFromHost(w1.ip, 9181, 'local-udp'), 30_000);
      assert.equal(udp, `echo-a ${client} local-udp`);
    });

    test('Local: a node without an endpoint still forwards through its svclb pod (masqueraded, as in K3s)', async () => {
      // w2 runs a svclb pod of echo-local but is not in its ingress, so kube-proxy has no rule for
      // w2's address: the packet takes the hostPort into the svclb pod, whose forwarder DNATs to
      // w2's host IP and the nodePort and masquerades. The backend sees that pod's address.
      const onW2 = await until(`a Ready svclb pod of echo-local on ${w2.name}`, () => {
        const svclb = json<{ items: Json[] }>(['get', 'pods', '--all-namespaces', '-l', 'svccontroller.k3s.cattle.io/svcname=echo-local']);
        const p = svclb.items.find((x) => x.spec.nodeName === w2.name && x.status.podIP && (x.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True'));
        return p?.status.podIP as string | undefined;
      }, 120_000, 1000);
      assert.ok(!ingressIPs('echo-local').includes(w2.ip), `${w2.ip} is not in the ingress of echo-local`);
      const tcp = await untilAsync(`TCP ${w2.ip}:9180 from the host`, () => tcpFromHost(w2.ip, 9180, 'via-svclb'), 60_000);
      assert.equal(tcp, `echo-a ${onW2} via-svclb`);
    });
  });

  test('a NetworkPolicy blocks, then allows, traffic between pods on different nodes', async () => {
    const [w1, w2] = twoWorkers();
    namespace(NP_NS);
    apply(echoPodYaml(NP_NS, 'server', w1.name, { app: 'server' }));
    apply(echoPodYaml(NP_NS, 'client', w2.name, { app: 'client' }));
    apply(echoPodYaml(NP_NS, 'other', w2.name, { app: 'other' }));
    const server = await podIP(NP_NS, 'server');
    const clientIP = await podIP(NP_NS, 'client');
    await podIP(NP_NS, 'other');
    assert.equal(probeFrom(NP_NS, 'client', 'tcp', `${server}:8080`, 'before'), `server ${clientIP} before`);

    apply(JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-to-server', namespace: NP_NS },
      spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] },
    }));
    await until('the deny policy to block client -> server', () => probeFrom(NP_NS, 'client', 'tcp', `${server}:8080`) === null, 60_000);
    assert.equal(probeFrom(NP_NS, 'client', 'udp', `${server}:8080`), null, 'UDP blocked too');

    apply(JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-client', namespace: NP_NS },
      spec: {
        podSelector: { matchLabels: { app: 'server' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
      },
    }));
    const allowed = await until('the allow policy to let client -> server through', () => probeFrom(NP_NS, 'client', 'tcp', `${server}:8080`, 'after') ?? undefined, 60_000);
    assert.equal(allowed, `server ${clientIP} after`);
    assert.equal(probeFrom(NP_NS, 'other', 'tcp', `${server}:8080`), null, 'a pod the policy does not name stays blocked');
    assert.equal(probeFrom(NP_NS, 'client', 'udp', `${server}:8080`), null, 'UDP, not in the allowed ports, stays blocked');
  });

  test('addon-manager deploys a manifest of its directory and runs an inline HelmChart as a Job', async () => {
    const cm = await until(`ConfigMap default/${ADDON_CM} from the manifests directory`, () => {
      const r = json<{ items: Json[] }>(['-n', 'default', 'get', 'configmaps', '--field-selector', `metadata.name=${ADDON_CM}`]);
      return r.items[0];
    }, 120_000);
    assert.equal(cm.data.from, 'addon-manager');

    apply(JSON.stringify({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name: HELMCHART, namespace: RELEASE_NS },
      spec: { chartContent: inlineChart(), targetNamespace: 'default', valuesContent: 'greeting: hello-from-e2e\n' },
    }));
    const job = await until(`Job helm-install-${HELMCHART} to succeed`, () => {
      const r = json<{ items: Json[] }>(['-n', RELEASE_NS, 'get', 'jobs', '--field-selector', `metadata.name=helm-install-${HELMCHART}`]);
      const j = r.items[0];
      if (j?.status?.failed >= 3) throw new Error(`the install Job failed: ${kubectl(['-n', RELEASE_NS, 'logs', `job/helm-install-${HELMCHART}`, '--tail=30'])}`);
      return (j?.status?.succeeded ?? 0) >= 1 ? j : undefined;
    }, 300_000, 2000);
    assert.ok(job.spec.template.spec.containers[0].image.includes('helm-job'), 'the Job runs the helm-job image');
    const made = json(['-n', 'default', 'get', 'configmap', 'e2e-helmchart-cm']);
    assert.equal(made.data.greeting, 'hello-from-e2e');
  });

  test('the documented uninstall leaves no Portico chains, ipsets, DaemonSets or CRD objects on any node', async () => {
    // docs/deploy.md "Uninstall": LoadBalancer Services and HelmCharts first (their controllers
    // remove svclb DaemonSets and run the delete Job), then helm uninstall, then the node cleanup,
    // then the CRDs (helm never deletes crds/).
    kubectl(['-n', LB_NS, 'delete', 'services', '--all', '--wait=true', '--timeout=120s']);
    kubectl(['delete', 'namespace', LB_NS, NP_NS, '--wait=true', '--timeout=180s']);
    kubectl(['-n', RELEASE_NS, 'delete', 'helmchart', HELMCHART, '--wait=true', '--timeout=180s']);
    run('helm', ['uninstall', RELEASE, '--namespace', RELEASE_NS, '--wait', '--timeout', '3m'], { timeoutMs: 240_000 });
    const registry = process.env.PORTICO_IMAGE_REGISTRY;
    const cleanup = readFileSync('deploy/cleanup/netpol-cleanup.yaml', 'utf8').replaceAll('ghcr.io/portico/', registry ? `${registry}/portico/` : 'ghcr.io/portico/');
    kubectl(['apply', '-f', '-'], cleanup);
    kubectl(['-n', 'kube-system', 'rollout', 'status', 'daemonset/portico-netpol-cleanup', '--timeout=180s']);
    kubectl(['delete', '-f', '-', '--wait=true'], cleanup);
    // Helm never deletes crds/: Addon objects (one per manifest) stay until the CRDs go (step 3).
    const leftHelmCharts = [...spawnList('helmcharts.helm.cattle.io'), ...spawnList('helmchartconfigs.helm.cattle.io')];
    assert.deepEqual(leftHelmCharts, [], 'no HelmChart or HelmChartConfig objects after helm uninstall');
    kubectl(['delete', 'crd', ...CRDS, '--ignore-not-found', '--wait=true', '--timeout=120s']);

    const ds = json<{ items: Json[] }>(['get', 'daemonsets', '-A']).items.map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    assert.deepEqual(ds.filter((n) => /svclb|portico/.test(n)), [], 'no svclb or Portico DaemonSets');
    for (const n of nodes()) assert.deepEqual(porticoNodeLeftovers(n.name), [], `no Portico chains or ipsets on ${n.name}`);
    const crds = json<{ items: Json[] }>(['get', 'crds']).items.map((c) => c.metadata.name as string);
    assert.deepEqual(crds.filter((c) => CRDS.includes(c)), [], 'the CRDs and with them every Addon, HelmChart and HelmChartConfig are gone');
  });
});

/** Objects of a CRD in every namespace; [] also when the CRD itself is gone. */
function spawnList(resource: string): string[] {
  try {
    return (json<{ items: Json[] }>(['get', resource, '-A']).items).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  } catch (e) {
    if (/the server doesn't have a resource type/.test(String(e))) return [];
    throw e;
  }
}
