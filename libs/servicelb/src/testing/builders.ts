// Object builders for the ServiceLB unit tests (served by @portico/servicelb/testing). They produce the same
// plain-JSON shapes the API server returns, with only the fields a test sets.

import { programNames } from '@portico/labels';
import { daemonSetName } from '../names.ts';
import type { EndpointSlice, Node, Pod, Service, ServicePort, Taint } from '../types.ts';

export const names = programNames('k3s');
export const UID = '35a5ccb3-4a82-40b7-8d83-cda9582e4251';

export interface SvcOptions {
  namespace?: string;
  uid?: string;
  type?: string;
  ports?: ServicePort[];
  clusterIPs?: string[];
  ipFamilies?: string[];
  etp?: 'Cluster' | 'Local';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  sourceRanges?: string[];
  loadBalancerClass?: string;
  finalizers?: string[];
  deletionTimestamp?: string;
  generation?: number;
  status?: Service['status'];
  allocateLoadBalancerNodePorts?: boolean;
}

/** A Service; defaults: LoadBalancer, TCP 80 → nodePort 30080, IPv4 10.43.0.10, Cluster policy. */
export function svc(name: string, o: SvcOptions = {}): Service {
  const ipFamilies = o.ipFamilies ?? ['IPv4'];
  const clusterIPs = o.clusterIPs ?? ipFamilies.map((f) => (f === 'IPv4' ? '10.43.0.10' : 'fd00:43::10'));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: o.uid ?? UID,
      ...(o.generation !== undefined ? { generation: o.generation } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}),
    },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ports: o.ports ?? [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
      clusterIP: clusterIPs[0],
      clusterIPs,
      ipFamilies,
      externalTrafficPolicy: o.etp ?? 'Cluster',
      ...(o.sourceRanges ? { loadBalancerSourceRanges: o.sourceRanges } : {}),
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
      ...(o.allocateLoadBalancerNodePorts !== undefined ? { allocateLoadBalancerNodePorts: o.allocateLoadBalancerNodePorts } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

export interface NodeOptions {
  labels?: Record<string, string>;
  taints?: Taint[];
  internal?: string[];
  external?: string[];
}

export function node(name: string, o: NodeOptions = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: o.taints ? { taints: o.taints } : {},
    status: {
      addresses: [
        ...(o.internal ?? []).map((address) => ({ type: 'InternalIP', address })),
        ...(o.external ?? []).map((address) => ({ type: 'ExternalIP', address })),
        { type: 'Hostname', address: name },
      ],
    },
  };
}

export interface PodOptions {
  ready?: boolean;
  podIP?: string;
  namespace?: string;
  suffix?: string;
  ports?: { port: number; protocol?: string }[];
  phase?: string;
}

/** A svclb pod of `service` on `nodeName` (in kube-system), Ready by default, hostPorts of the Service. */
export function svclbPod(service: Service, nodeName: string | undefined, o: PodOptions = {}): Pod {
  const dsName = daemonSetName(service.metadata!.name!, service.metadata!.uid!);
  const ports = o.ports ?? (service.spec?.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${dsName}-${o.suffix ?? nodeName ?? 'pending'}`,
      namespace: o.namespace ?? 'kube-system',
      labels: { app: dsName, [names.svcNameLabel]: service.metadata!.name!, [names.svcNamespaceLabel]: service.metadata!.namespace! },
    },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: ports.map((p) => ({
        name: `lb-${(p.protocol ?? 'TCP').toLowerCase()}-${p.port}`,
        ports: [{ containerPort: p.port, hostPort: p.port, protocol: p.protocol ?? 'TCP' }],
      })),
    },
    status: {
      phase: o.phase ?? (nodeName ? 'Running' : 'Pending'),
      ...(nodeName && o.podIP !== '' ? { podIP: o.podIP ?? '10.42.0.5' } : {}),
      conditions: [{ type: 'Ready', status: (o.ready ?? Boolean(nodeName)) ? 'True' : 'False' }],
    },
  };
}

/** A non-svclb pod holding `hostPort` on a node. */
export function hostPortPod(namespace: string, name: string, nodeName: string, hostPort: number, protocol = 'TCP'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { nodeName, containers: [{ name: 'c', ports: [{ containerPort: hostPort, hostPort, protocol }] }] },
    status: { phase: 'Running', podIP: '10.42.9.9', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export interface EndpointOptions {
  node?: string | null;
  ready?: boolean | null;
  kind?: string | null;
}

/** An EndpointSlice of `service` with one endpoint per entry. */
export function slice(service: Service, endpoints: EndpointOptions[], sliceName = `${service.metadata!.name}-abc`): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName, namespace: service.metadata!.namespace!, labels: { 'kubernetes.io/service-name': service.metadata!.name! } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.42.1.${i + 1}`],
      conditions: e.ready === null ? {} : { ready: e.ready ?? true },
      ...(e.node === null ? {} : { nodeName: e.node ?? 'n1' }),
      ...(e.kind === null ? {} : { targetRef: { kind: e.kind ?? 'Pod', name: `backend-${i}`, namespace: service.metadata!.namespace! } }),
    })),
  };
}
