// Test helpers for the ServiceLB runtime's and its apps' unit tests: object builders, a recording Event sink and a
// controller wired to libs/kube's FakeKube (an in-memory API server with real list-watch, apply,
// patch and finalizer semantics). Not part of the binary (only *.test.ts import it).

import assert from 'node:assert/strict';
import { Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { programNames } from '@portico/labels';
import { createLogger, parseFlags, Registry, runProgram, type FlagSpec, type FlagValues, type Logger, type Program } from '@portico/service-kit';
import { serviceLBConfig, type ServiceLBConfig } from '@portico/servicelb';
import { FIELD_MANAGER } from '../config.ts';
import { ServiceLBController, type EventSink } from '../controller.ts';
import { createControllerMetrics } from '../metrics.ts';

export const names = programNames();
export const LB_NS = 'lb-system';

/** One recorded Event: `Type Reason ns/name: message`. */
export interface RecordedEvent {
  readonly object: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

/** An EventSink that keeps every event. */
export class RecordingEvents implements EventSink {
  readonly events: RecordedEvent[] = [];
  event(obj: KubeObject | { kind: string; namespace?: string; name: string }, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const o = 'metadata' in obj && obj.metadata ? { namespace: obj.metadata.namespace, name: obj.metadata.name } : (obj as { namespace?: string; name: string });
    this.events.push({ object: `${o.namespace}/${o.name}`, type, reason, message });
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  reasons(object?: string): string[] {
    return this.events.filter((e) => object === undefined || e.object === object).map((e) => e.reason);
  }
}

export interface NodeOptions {
  readonly internal?: string[];
  readonly external?: string[];
  readonly labels?: Record<string, string>;
  readonly taints?: { key: string; value?: string; effect: string }[];
}

export function node(name: string, o: NodeOptions = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: o.taints ? { taints: o.taints } : {},
    status: {
      addresses: [
        ...(o.internal ?? []).map((address) => ({ type: 'InternalIP', address })),
        ...(o.external ?? []).map((address) => ({ type: 'ExternalIP', address })),
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  } as KubeObject;
}

export interface ServiceOptions {
  readonly type?: string;
  readonly ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[];
  readonly etp?: 'Cluster' | 'Local';
  readonly loadBalancerClass?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly finalizers?: string[];
  /** Seeds a Service that is already being deleted (keep `finalizers` set, or it is not stored). */
  readonly deletionTimestamp?: string;
  readonly families?: string[];
  readonly clusterIPs?: string[];
  readonly status?: unknown;
}

export function service(namespace: string, name: string, o: ServiceOptions = {}): KubeObject {
  const families = o.families ?? ['IPv4'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      namespace,
      name,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}),
    },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ports: (o.ports ?? [{ name: 'http', port: 80, nodePort: 30080 }]).map((p) => ({ protocol: 'TCP', ...p })),
      clusterIP: (o.clusterIPs ?? ['10.43.0.10'])[0],
      clusterIPs: o.clusterIPs ?? ['10.43.0.10'],
      ipFamilies: families,
      ipFamilyPolicy: families.length > 1 ? 'RequireDualStack' : 'SingleStack',
      externalTrafficPolicy: o.etp ?? 'Cluster',
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  } as KubeObject;
}

/** A svclb pod of `svcNs/svcName` on `nodeName`, as the DaemonSet controller + kubelet would make it. */
export function svclbPod(dsName: string, svcNs: string, svcName: string, nodeName: string, o: { ready?: boolean; port?: number; podIP?: string } = {}): KubeObject {
  const ready = o.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: LB_NS,
      name: `${dsName}-${nodeName}`,
      labels: { app: dsName, [names.svcNameLabel]: svcName, [names.svcNamespaceLabel]: svcNs },
    },
    spec: { nodeName, containers: [{ name: `lb-tcp-${o.port ?? 80}`, ports: [{ containerPort: o.port ?? 80, hostPort: o.port ?? 80, protocol: 'TCP' }] }] },
    status: {
      phase: 'Running',
      podIP: o.podIP ?? '10.42.0.5',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  } as KubeObject;
}

export function endpointSlice(namespace: string, svcName: string, endpoints: { nodeName: string; ready: boolean }[], name = `${svcName}-abc`): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.42.1.${i + 1}`],
      conditions: { ready: e.ready },
      nodeName: e.nodeName,
      targetRef: { kind: 'Pod', name: `backend-${i}`, namespace },
    })),
  } as KubeObject;
}

/** A controller on a FakeKube, leading until stop(). */
export interface Harness {
  readonly fake: FakeKube;
  readonly events: RecordingEvents;
  readonly controller: ServiceLBController;
  readonly registry: Registry;
  readonly config: ServiceLBConfig;
  /** Starts caches and leading (call after seeding the fake). */
  start(): Promise<void>;
  /** Stops leading and the caches. */
  stop(): Promise<void>;
}

export function harness(opts: { fake?: FakeKube; config?: Partial<ServiceLBConfig>; events?: RecordingEvents; log?: Logger } = {}): Harness {
  const fake = opts.fake ?? new FakeKube();
  const events = opts.events ?? new RecordingEvents();
  const registry = new Registry();
  const config = serviceLBConfig({ namespace: LB_NS, image: 'example.com/lb-forwarder:test', ...opts.config });
  const controller = new ServiceLBController({
    client: fake.client,
    core: config,
    log: opts.log ?? createLogger({ app: 'test', level: 'silent' }),
    metrics: createControllerMetrics(registry),
    events,
    fieldManager: FIELD_MANAGER,
    workers: 2,
    resyncPeriodMs: 0,
  });
  let stopLeading: AbortController | undefined;
  let leading: Promise<void> = Promise.resolve();
  return {
    fake,
    events,
    controller,
    registry,
    config,
    async start() {
      controller.start();
      await controller.caches.waitForSync({ timeoutMs: 5000 });
      stopLeading = new AbortController();
      leading = controller.lead(stopLeading.signal);
    },
    async stop() {
      stopLeading?.abort(new Error('test done'));
      await leading;
      await controller.stop();
    },
  };
}

/** Polls `check` (which throws while not yet true) until it passes, or fails with its last error. */
export async function eventually(check: () => void | Promise<void>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${last instanceof Error ? last.message : String(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the controller has nothing queued or in flight, twice in a row 50 ms apart. */
export async function settled(h: Harness, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) assert.fail('controller did not settle');
    await new Promise((r) => setTimeout(r, 50));
    quiet = h.controller.idle ? quiet + 1 : 0;
  }
}

export const svcRes = Resources.Service;
export const dsRes = Resources.DaemonSet;

/** Runs a CLI program in-process; stdout as text, stderr as lines. */
export async function runCli(program: Program, argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => ({ write: (s: string) => (into.push(s), true) });
  const code = await runProgram(program, argv, { stdout: sink(out), stderr: sink(err), env });
  return { code, out: out.join(''), err: err.join('').split('\n').filter((l) => l.length > 0) };
}

/** Parses `argv` against `specs` and builds the app's config with `from`; fails the test on any problem. */
export function parsedConfig<C>(
  specs: readonly FlagSpec[],
  from: (values: FlagValues, env: Record<string, string>) => { readonly ok: true; readonly config: C } | { readonly ok: false; readonly issues: readonly unknown[] },
  argv: string[],
  env: Record<string, string> = {},
): C {
  const parsed = parseFlags(specs, argv, env);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const r = from(parsed.values, env);
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}
