// Helpers of the kind tier (T3): kubectl, kind, the echo test image, pods pinned to nodes, probes.
// The tier runner (tools/test/run-tier.sh e2e) starts the cluster with e2e/kind/up and sets
// KUBECONFIG and PATH (.cache/bin first: kubectl, kind, helm).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** kubectl's JSON output: read field by field by the assertions that use it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const REPO = resolve(import.meta.dirname, '../../..');
export const CLUSTER = process.env.KIND_CLUSTER_NAME ?? 'portico-e2e';

export function requireCluster(): void {
  assert.ok(process.env.KUBECONFIG, 'prerequisite missing: KUBECONFIG (run through tools/test/run-tier.sh e2e, which starts e2e/kind/up)');
  for (const tool of ['kubectl', 'kind', 'docker']) {
    assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `prerequisite missing: ${tool} on PATH`);
  }
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 300_000, cwd: REPO, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

export const kubectl = (args: readonly string[], input?: string): string => run('kubectl', args, { input });
export const apply = (yaml: string): string => kubectl(['apply', '-f', '-'], yaml);
export const json = <T = Json>(args: readonly string[]): T => JSON.parse(kubectl([...args, '-o', 'json'])) as T;

export interface NodeInfo {
  name: string;
  ip: string;
  worker: boolean;
  external: boolean;
}

export function nodes(): NodeInfo[] {
  const list = json<{ items: Json[] }>(['get', 'nodes']);
  return list.items
    .map((n) => ({
      name: n.metadata.name as string,
      ip: (n.status.addresses as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')!.address,
      worker: !('node-role.kubernetes.io/control-plane' in n.metadata.labels),
      external: n.metadata.labels['portico.io/e2e-external-cloud-provider'] === 'true',
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The two plain workers (not the --cloud-provider=external one). */
export function twoWorkers(): [NodeInfo, NodeInfo] {
  const w = nodes().filter((n) => n.worker && !n.external);
  assert.ok(w.length >= 2, `want 2 plain workers, have ${w.map((n) => n.name).join(',')}`);
  return [w[0]!, w[1]!];
}

let echoImage = '';
/** Builds (e2e/kind/test-image) and loads the echo image into every node once; returns its ref. */
export function echoImageRef(): string {
  if (echoImage) return echoImage;
  const ref = run('bash', ['e2e/kind/test-image']).trim().split('\n').pop()!;
  run('kind', ['load', 'docker-image', ref, '--name', CLUSTER]);
  echoImage = ref;
  return ref;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** until() for an async probe: resolves with the first value that is not null/undefined/false. */
export async function untilAsync<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** An echo pod (TCP and UDP on 8080) pinned to a node. */
export function echoPodYaml(ns: string, name: string, node: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'echo',
          image: echoImageRef(),
          imagePullPolicy: 'Never',
          args: ['serve', '-port', '8080'],
          ports: [
            { containerPort: 8080, protocol: 'TCP' },
            { containerPort: 8080, protocol: 'UDP' },
          ],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  });
}

export function namespace(name: string, labels: Record<string, string> = {}): void {
  apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }));
}

export function deleteNamespace(name: string): void {
  spawnSync('kubectl', ['delete', 'namespace', name, '--wait=false', '--ignore-not-found'], { encoding: 'utf8' });
}

export async function podIP(ns: string, name: string): Promise<string> {
  return until(`pod ${ns}/${name} Ready`, () => {
    const p = json(['-n', ns, 'get', 'pod', name]);
    const ready = (p.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True');
    return ready ? (p.status.podIP as string) : undefined;
  });
}

/** The pod's address of `family` once it is Ready (status.podIPs); fails when it has none of that family. */
export async function podIPOf(ns: string, name: string, family: 'IPv4' | 'IPv6'): Promise<string> {
  await podIP(ns, name);
  const ips = ((json(['-n', ns, 'get', 'pod', name]).status.podIPs ?? []) as { ip: string }[]).map((x) => x.ip);
  const ip = ips.find((x) => x.includes(':') === (family === 'IPv6'));
  assert.ok(ip, `pod ${ns}/${name} has no ${family} address (podIPs: ${ips.join(', ')})`);
  return ip;
}

/** Whether the cluster is dual-stack (e2e/kind/up --ip-family dual): every Node has an IPv6 podCIDR. */
export function dualStack(): boolean {
  const items = json<{ items: Json[] }>(['get', 'nodes']).items;
  return items.length > 0 && items.every((n) => ((n.spec.podCIDRs ?? []) as string[]).some((c) => c.includes(':')));
}

/** host:port for a probe target, IPv6 in brackets. */
export const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Probe from inside a pod: the reply line ("<host> <client ip> <msg>") or null when none came. */
export function probeFrom(ns: string, pod: string, proto: 'tcp' | 'udp', target: string, msg = 'ping'): string | null {
  const r = spawnSync('kubectl', ['-n', ns, 'exec', pod, '--', 'echo-server', 'probe', '-timeout', '2s', proto, target, msg], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function execIn(node: string, script: string): string {
  return run('docker', ['exec', node, 'sh', '-c', script]);
}
