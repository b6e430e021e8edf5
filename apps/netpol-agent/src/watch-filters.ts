import type { ChangeEvent, KubeObject } from '@portico/kube';
import { Netpol } from '@portico/labels';

/**
 * What the agent keeps of each watched object, and which changes are worth a sync (spec 4.1).
 *
 * Every pod of the cluster is cached (pods on other nodes are policy peers), so the pod transform
 * keeps only what the renderer reads: name, namespace, uid, labels, resourceVersion, node, host
 * network, container port names, phase and IPs. A typical pod object shrinks from 5-15 KiB to a few
 * hundred bytes.
 */

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

interface PortLike {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

function keepPorts(containers: unknown): { name?: string; ports: PortLike[] }[] | undefined {
  if (!Array.isArray(containers)) return undefined;
  // An object of the wrong shape is kept as it is, for the core's validation to report (libs/netpol
  // validate.ts); slimming must not throw or quietly turn it into a valid one.
  const wellFormed = (c: unknown): boolean => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
    const ports = (c as { ports?: unknown }).ports;
    return ports == null || (Array.isArray(ports) && ports.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p)));
  };
  if (!containers.every(wellFormed)) return containers as { name?: string; ports: PortLike[] }[];
  const out: { name?: string; ports: PortLike[] }[] = [];
  for (const c of containers as { name?: string; ports?: PortLike[] }[]) {
    // Only named ports matter for NetworkPolicy; unnamed ones are dropped.
    const ports = (c.ports ?? []).filter((p) => p.name).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' }));
    out.push({ ...(c.name ? { name: c.name } : {}), ports });
  }
  return out;
}

function meta(o: KubeObject, extra: { annotations?: boolean } = {}): KubeObject['metadata'] {
  const m = o.metadata ?? {};
  const annotations = extra.annotations && m.annotations ? Object.fromEntries(Object.entries(m.annotations).filter(([k]) => k.startsWith(Netpol.annotationPrefix))) : undefined;
  return {
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
}

export function slimPod(p: Obj): Obj {
  const spec = p.spec ?? {};
  const status = p.status ?? {};
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: meta(p),
    spec: {
      ...(spec['nodeName'] ? { nodeName: spec['nodeName'] } : {}),
      ...(spec['hostNetwork'] ? { hostNetwork: true } : {}),
      // Only regular containers' named ports count (as in kube-router and the core).
      containers: keepPorts(spec['containers']) ?? [],
    },
    status: {
      ...(status['phase'] ? { phase: status['phase'] } : {}),
      ...(status['podIP'] ? { podIP: status['podIP'] } : {}),
      ...(status['podIPs'] ? { podIPs: status['podIPs'] } : {}),
      ...(status['hostIP'] ? { hostIP: status['hostIP'] } : {}),
    },
  };
}

export function slimNamespace(n: Obj): Obj {
  return { apiVersion: n.apiVersion, kind: n.kind, metadata: meta(n) };
}

export function slimPolicy(p: Obj): Obj {
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: meta(p, { annotations: true }), spec: p.spec ?? {} };
}

export function slimNode(n: Obj): Obj {
  const spec = n.spec ?? {};
  const status = n.status ?? {};
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: meta(n, { annotations: true }),
    spec: { ...(spec['podCIDR'] ? { podCIDR: spec['podCIDR'] } : {}), ...(spec['podCIDRs'] ? { podCIDRs: spec['podCIDRs'] } : {}) },
    status: { addresses: status['addresses'] ?? [] },
  };
}

const json = (v: unknown): string => JSON.stringify(v ?? null);

function podIPs(p: Obj): string {
  return json([p.status?.['podIP'], p.status?.['podIPs']]);
}

/** kube-router's `isNetPolActionable`: has an IP, not host network, not finished. */
export function podActionable(p: Obj): boolean {
  const phase = p.status?.['phase'];
  return Boolean(p.status?.['podIP']) && !p.spec?.['hostNetwork'] && phase !== 'Succeeded' && phase !== 'Failed' && phase !== 'Completed';
}

/** Pod events that change policy: add of an actionable pod; phase, IP, host IP, node or label changes; every delete. */
export function podEventMatters(ev: ChangeEvent<Obj>): boolean {
  if (ev.type === 'delete') return true;
  if (ev.type === 'add') return podActionable(ev.object);
  const a = ev.old;
  const b = ev.object;
  return (
    a.status?.['phase'] !== b.status?.['phase'] ||
    podIPs(a) !== podIPs(b) ||
    a.status?.['hostIP'] !== b.status?.['hostIP'] ||
    a.spec?.['nodeName'] !== b.spec?.['nodeName'] ||
    json(a.metadata?.labels) !== json(b.metadata?.labels)
  );
}

/** Namespace events: add/delete always (every namespace has labels), update only when labels changed. */
export function namespaceEventMatters(ev: ChangeEvent<Obj>): boolean {
  if (ev.type !== 'update') return true;
  return json(ev.old.metadata?.labels) !== json(ev.object.metadata?.labels);
}

/** Node events: addresses, pod CIDRs or the kube-router pod-CIDR annotation changed (heartbeats do not). */
export function nodeEventMatters(ev: ChangeEvent<Obj>): boolean {
  if (ev.type !== 'update') return true;
  const a = ev.old;
  const b = ev.object;
  const ann = (o: Obj): string | undefined => o.metadata?.annotations?.[Netpol.podCIDRsAnnotation];
  return json(a.status?.['addresses']) !== json(b.status?.['addresses']) || json([a.spec?.['podCIDR'], a.spec?.['podCIDRs']]) !== json([b.spec?.['podCIDR'], b.spec?.['podCIDRs']]) || ann(a) !== ann(b);
}
