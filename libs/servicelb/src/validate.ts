// Validation of the objects the ServiceLB core reads, as the API server validates them, in one place
// per kind: Service, Node, Pod, EndpointSlice and (existing svclb) DaemonSet. Shape first (a map
// where a list belongs, a string where a number belongs, a missing field), then values (ports,
// protocols, IP addresses, names, label syntax, duplicate port names). Nothing here throws, whatever
// the input: every validator takes `unknown`.
//
// {@link screenSnapshot} runs every object of a snapshot through these before the core reads them
// and decides what stands in for an invalid object. The rule is **never widen**:
// - an invalid Service stays in the snapshot but is reconciled as `invalid`: it gets no DaemonSet;
//   the one applied for its last valid version (if any) is kept unchanged, never rebuilt from the bad
//   object (reconcile.ts);
// - an invalid Node, Pod or EndpointSlice is left out: it serves no ingress, holds no hostPort and
//   gives no Ready endpoint, so it can only make the output narrower. A left-out Node whose labels
//   can still be read keeps allow-list mode on if it carries the `enablelb` label, so leaving it out
//   never lets svclb pods onto every node;
// - an invalid existing DaemonSet is left out: it is neither kept as is nor deleted as an orphan
//   (its Service, when valid, overwrites it with a server-side apply).
// `render` exits 2 on any of these problems; `run` logs them and records a Warning Event on the Service.

import { parseIP } from '@portico/ip-selection';
import type { ProgramNames } from '@portico/labels';
import {
  absent,
  bool,
  int,
  isObj,
  item,
  list,
  map,
  metadata,
  objectName,
  oneOf,
  problem,
  qualifiedNameProblem,
  str,
  strings,
  isDnsLabel,
  type FieldProblem,
  type Problems,
} from '@portico/validation';
import type { ServiceLBSnapshot } from './api.ts';
import type { DaemonSet, EndpointSlice, Node, Pod, Service } from './types.ts';

/** An invalid object of a snapshot: which one, and one field problem. */
export interface ObjectProblem extends FieldProblem {
  readonly kind: 'Service' | 'Node' | 'Pod' | 'EndpointSlice' | 'DaemonSet';
  readonly namespace?: string;
  readonly name: string;
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function ip(out: Problems, v: unknown, field: string, allowed: readonly string[] = []): void {
  const s = str(out, v, field);
  if (s === undefined || s === '' || allowed.includes(s)) return;
  if (!parseIP(s)) problem(out, field, s, `must be a valid IP address${allowed.length > 0 ? ` or ${allowed.join(', ')}` : ''}`);
}

function ipList(out: Problems, v: unknown, field: string): string[] {
  const found = strings(out, v, field);
  found.forEach((s, i) => {
    if (!parseIP(s)) problem(out, `${field}[${i}]`, s, 'must be a valid IP address');
  });
  return found;
}

/** A port number field: an integer 1-65535, required when `required`. */
function portNumber(out: Problems, v: unknown, field: string, required: boolean, min = 1): void {
  if (absent(v)) {
    if (required) problem(out, field, v, 'required: an integer between 1 and 65535');
    return;
  }
  int(out, v, field, min, 65535);
}

function isIanaServiceName(s: string): boolean {
  return IANA_SVC_NAME.test(s) && !s.includes('--') && /[a-z]/.test(s);
}

function servicePorts(out: Problems, v: unknown): void {
  const ports = list(out, v, 'spec.ports');
  const names = new Map<string, number>();
  const pairs = new Map<string, number>();
  ports.forEach((raw, i) => {
    const f = `spec.ports[${i}]`;
    const p = item(out, raw, f);
    if (!p) return;
    const name = str(out, p['name'], `${f}.name`);
    if (name !== undefined && name !== '') {
      if (!isDnsLabel(name)) problem(out, `${f}.name`, name, 'must be a DNS-1123 label (at most 63 lower-case alphanumerics or "-")');
      const first = names.get(name);
      if (first !== undefined) problem(out, `${f}.name`, name, `duplicate port name (also spec.ports[${first}].name)`);
      else names.set(name, i);
    } else if (ports.length > 1 && (name === '' || absent(p['name']))) {
      problem(out, `${f}.name`, name ?? '', 'required when the Service has more than one port');
    }
    const protocol = oneOf(out, p['protocol'], `${f}.protocol`, PROTOCOLS) ?? (absent(p['protocol']) ? 'TCP' : undefined);
    portNumber(out, p['port'], `${f}.port`, true);
    const port = p['port'];
    if (protocol !== undefined && typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) {
      const pair = `${port}/${protocol}`;
      const first = pairs.get(pair);
      if (first !== undefined) problem(out, `${f}`, pair, `duplicate port and protocol (also spec.ports[${first}])`);
      else pairs.set(pair, i);
    }
    const target = p['targetPort'];
    if (typeof target === 'string') {
      if (!isIanaServiceName(target)) problem(out, `${f}.targetPort`, target, 'must be an integer between 1 and 65535 or an IANA service name (1-15 lower-case alphanumerics or "-", with a letter)');
    } else if (!absent(target)) portNumber(out, target, `${f}.targetPort`, false);
    int(out, p['nodePort'], `${f}.nodePort`, 0, 65535);
    str(out, p['appProtocol'], `${f}.appProtocol`);
  });
}

function lbIngress(out: Problems, v: unknown, field: string): void {
  list(out, v, field).forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const e = item(out, raw, f);
    if (!e) return;
    ip(out, e['ip'], `${f}.ip`);
    str(out, e['hostname'], `${f}.hostname`);
    oneOf(out, e['ipMode'], `${f}.ipMode`, ['VIP', 'Proxy']);
    list(out, e['ports'], `${f}.ports`).forEach((pr, j) => {
      const pm = item(out, pr, `${f}.ports[${j}]`);
      if (!pm) return;
      int(out, pm['port'], `${f}.ports[${j}].port`, 0, 65535);
      oneOf(out, pm['protocol'], `${f}.ports[${j}].protocol`, PROTOCOLS);
      str(out, pm['error'], `${f}.ports[${j}].error`);
    });
  });
}

function conditions(out: Problems, v: unknown, field: string): void {
  list(out, v, field).forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const c = item(out, raw, f);
    if (!c) return;
    for (const k of ['type', 'status', 'reason', 'message', 'lastTransitionTime', 'lastHeartbeatTime']) str(out, c[k], `${f}.${k}`);
    int(out, c['observedGeneration'], `${f}.observedGeneration`, 0, Number.MAX_SAFE_INTEGER);
  });
}

/** The problems of a Service's `status` alone (an invalid status is never read, nor written over). */
export function serviceStatusProblems(status: unknown): FieldProblem[] {
  const out: Problems = [];
  const s = map(out, status, 'status');
  if (s) {
    const lb = map(out, s['loadBalancer'], 'status.loadBalancer');
    if (lb) lbIngress(out, lb['ingress'], 'status.loadBalancer.ingress');
    conditions(out, s['conditions'], 'status.conditions');
  }
  return out;
}

/** What the API server would reject in a Service (ValidateService, for every field ServiceLB reads or copies). */
export function validateService(obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, `a Service must be a map, not ${obj === null ? 'null' : Array.isArray(obj) ? 'a list' : `a ${typeof obj}`}`);
    return out;
  }
  metadata(out, obj['metadata'], 'dns1035');
  const spec = map(out, obj['spec'], 'spec');
  if (spec) {
    oneOf(out, spec['type'], 'spec.type', ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
    servicePorts(out, spec['ports']);
    ip(out, spec['clusterIP'], 'spec.clusterIP', ['None']);
    const ips = strings(out, spec['clusterIPs'], 'spec.clusterIPs');
    ips.forEach((s, i) => {
      if (s !== 'None' && !parseIP(s)) problem(out, `spec.clusterIPs[${i}]`, s, 'must be a valid IP address or None');
    });
    if (typeof spec['clusterIP'] === 'string' && spec['clusterIP'] !== '' && ips.length > 0 && ips[0] !== spec['clusterIP']) {
      problem(out, 'spec.clusterIPs[0]', ips[0], `must equal spec.clusterIP (${spec['clusterIP']})`);
    }
    if (ips.length > 2) problem(out, 'spec.clusterIPs', ips, 'at most two addresses (one per IP family)');
    const families = list(out, spec['ipFamilies'], 'spec.ipFamilies');
    families.forEach((x, i) => oneOf(out, x, `spec.ipFamilies[${i}]`, ['IPv4', 'IPv6']));
    if (families.length > 2 || (families.length === 2 && families[0] === families[1])) problem(out, 'spec.ipFamilies', families, 'at most two distinct families');
    oneOf(out, spec['ipFamilyPolicy'], 'spec.ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack']);
    oneOf(out, spec['externalTrafficPolicy'], 'spec.externalTrafficPolicy', ['Cluster', 'Local']);
    oneOf(out, spec['internalTrafficPolicy'], 'spec.internalTrafficPolicy', ['Cluster', 'Local']);
    oneOf(out, spec['sessionAffinity'], 'spec.sessionAffinity', ['ClientIP', 'None']);
    const cls = str(out, spec['loadBalancerClass'], 'spec.loadBalancerClass');
    if (cls) {
      const why = qualifiedNameProblem(cls);
      if (why) problem(out, 'spec.loadBalancerClass', cls, `must be a label-style name: ${why}`);
    }
    // Each range's CIDR syntax is checked where ranges are parsed (source-ranges.ts), with K3s's message.
    strings(out, spec['loadBalancerSourceRanges'], 'spec.loadBalancerSourceRanges');
    ip(out, spec['loadBalancerIP'], 'spec.loadBalancerIP');
    ipList(out, spec['externalIPs'], 'spec.externalIPs');
    int(out, spec['healthCheckNodePort'], 'spec.healthCheckNodePort', 0, 65535);
    bool(out, spec['allocateLoadBalancerNodePorts'], 'spec.allocateLoadBalancerNodePorts');
    bool(out, spec['publishNotReadyAddresses'], 'spec.publishNotReadyAddresses');
    str(out, spec['externalName'], 'spec.externalName');
    const sel = map(out, spec['selector'], 'spec.selector');
    if (sel) for (const k of Object.keys(sel)) if (typeof sel[k] !== 'string') problem(out, `spec.selector.${k}`, sel[k], 'must be a string');
  }
  for (const p of serviceStatusProblems(obj['status'])) out.push(p);
  return out;
}

function taints(out: Problems, v: unknown, field: string): void {
  list(out, v, field).forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const t = item(out, raw, f);
    if (!t) return;
    const key = str(out, t['key'], `${f}.key`);
    if (key === undefined || key === '') {
      if (absent(t['key']) || key === '') problem(out, `${f}.key`, key ?? '', 'required');
    } else {
      const why = qualifiedNameProblem(key);
      if (why) problem(out, `${f}.key`, key, `invalid taint key: ${why}`);
    }
    str(out, t['value'], `${f}.value`);
    if (absent(t['effect'])) problem(out, `${f}.effect`, '', 'required: NoSchedule, PreferNoSchedule or NoExecute');
    else oneOf(out, t['effect'], `${f}.effect`, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
    str(out, t['timeAdded'], `${f}.timeAdded`);
  });
}

/** What the API server would reject in a Node (the fields ServiceLB and the CCM read). */
export function validateNode(obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, 'a Node must be a map');
    return out;
  }
  metadata(out, obj['metadata'], 'subdomain');
  const spec = map(out, obj['spec'], 'spec');
  if (spec) {
    taints(out, spec['taints'], 'spec.taints');
    bool(out, spec['unschedulable'], 'spec.unschedulable');
    str(out, spec['providerID'], 'spec.providerID');
    str(out, spec['podCIDR'], 'spec.podCIDR');
    strings(out, spec['podCIDRs'], 'spec.podCIDRs');
  }
  const status = map(out, obj['status'], 'status');
  if (status) {
    list(out, status['addresses'], 'status.addresses').forEach((raw, i) => {
      const a = item(out, raw, `status.addresses[${i}]`);
      if (!a) return;
      if (typeof a['type'] !== 'string' || a['type'] === '') problem(out, `status.addresses[${i}].type`, a['type'], 'must be a non-empty string');
      if (typeof a['address'] !== 'string') problem(out, `status.addresses[${i}].address`, a['address'], 'must be a string');
    });
    conditions(out, status['conditions'], 'status.conditions');
  }
  return out;
}

function containers(out: Problems, v: unknown, field: string): void {
  list(out, v, field).forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const c = item(out, raw, f);
    if (!c) return;
    str(out, c['name'], `${f}.name`);
    str(out, c['image'], `${f}.image`);
    list(out, c['ports'], `${f}.ports`).forEach((pr, j) => {
      const pf = `${f}.ports[${j}]`;
      const p = item(out, pr, pf);
      if (!p) return;
      portNumber(out, p['containerPort'], `${pf}.containerPort`, true);
      int(out, p['hostPort'], `${pf}.hostPort`, 0, 65535);
      oneOf(out, p['protocol'], `${pf}.protocol`, PROTOCOLS);
      str(out, p['name'], `${pf}.name`);
      str(out, p['hostIP'], `${pf}.hostIP`);
    });
  });
}

/** What the API server would reject in a Pod (the fields ServiceLB reads: node, containers' ports, phase, IPs, conditions). */
export function validatePod(obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, 'a Pod must be a map');
    return out;
  }
  metadata(out, obj['metadata'], 'subdomain');
  const spec = map(out, obj['spec'], 'spec');
  if (spec) {
    str(out, spec['nodeName'], 'spec.nodeName');
    containers(out, spec['containers'], 'spec.containers');
    containers(out, spec['initContainers'], 'spec.initContainers');
  }
  const status = map(out, obj['status'], 'status');
  if (status) {
    str(out, status['phase'], 'status.phase');
    ip(out, status['podIP'], 'status.podIP');
    conditions(out, status['conditions'], 'status.conditions');
  }
  return out;
}

/** What the API server would reject in a `discovery.k8s.io/v1` EndpointSlice. */
export function validateEndpointSlice(obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, 'an EndpointSlice must be a map');
    return out;
  }
  metadata(out, obj['metadata'], 'subdomain');
  if (absent(obj['addressType'])) problem(out, 'addressType', '', 'required: IPv4, IPv6 or FQDN');
  else oneOf(out, obj['addressType'], 'addressType', ['IPv4', 'IPv6', 'FQDN']);
  list(out, obj['endpoints'], 'endpoints').forEach((raw, i) => {
    const f = `endpoints[${i}]`;
    const e = item(out, raw, f);
    if (!e) return;
    // Absent is accepted: the controller's cache drops addresses (ServiceLB reads only conditions and nodeName).
    const addresses = strings(out, e['addresses'], `${f}.addresses`);
    if (addresses.length === 0 && Array.isArray(e['addresses'])) problem(out, `${f}.addresses`, '[]', 'must hold at least one address');
    const c = map(out, e['conditions'], `${f}.conditions`);
    if (c) for (const k of ['ready', 'serving', 'terminating']) bool(out, c[k], `${f}.conditions.${k}`);
    str(out, e['nodeName'], `${f}.nodeName`);
    str(out, e['hostname'], `${f}.hostname`);
    const ref = map(out, e['targetRef'], `${f}.targetRef`);
    if (ref) for (const k of ['kind', 'name', 'namespace', 'uid']) str(out, ref[k], `${f}.targetRef.${k}`);
  });
  list(out, obj['ports'], 'ports').forEach((raw, i) => {
    const p = item(out, raw, `ports[${i}]`);
    if (!p) return;
    int(out, p['port'], `ports[${i}].port`, 0, 65535);
    oneOf(out, p['protocol'], `ports[${i}].protocol`, PROTOCOLS);
    str(out, p['name'], `ports[${i}].name`);
  });
  return out;
}

/** What ServiceLB needs of an existing DaemonSet to keep it or compare with it (the API server checks far more). */
export function validateDaemonSet(obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, 'a DaemonSet must be a map');
    return out;
  }
  metadata(out, obj['metadata'], 'subdomain');
  const spec = map(out, obj['spec'], 'spec');
  const template = spec && map(out, spec['template'], 'spec.template');
  const pod = template && map(out, template['spec'], 'spec.template.spec');
  if (pod) {
    containers(out, pod['containers'], 'spec.template.spec.containers');
    containers(out, pod['initContainers'], 'spec.template.spec.initContainers');
    const sel = map(out, pod['nodeSelector'], 'spec.template.spec.nodeSelector');
    if (sel) for (const k of Object.keys(sel)) if (typeof sel[k] !== 'string') problem(out, `spec.template.spec.nodeSelector.${k}`, sel[k], 'must be a string');
    list(out, pod['tolerations'], 'spec.template.spec.tolerations').forEach((t, i) => item(out, t, `spec.template.spec.tolerations[${i}]`));
  }
  return out;
}

/** The snapshot the core may read, and what was wrong with the rest. */
export interface ScreenedSnapshot {
  /** Valid Nodes, Pods, EndpointSlices and DaemonSets; every Service (invalid ones are in `invalidServices`). */
  readonly snapshot: ServiceLBSnapshot;
  /** Service key (`namespace/name`) -> its problems. */
  readonly invalidServices: ReadonlyMap<string, readonly FieldProblem[]>;
  /** Whether a left-out Node still carries the allow-list label (allow-list mode stays on; never widen). */
  readonly invalidNodeAllowListed: boolean;
  /** Every problem, sorted by kind, namespace, name, then in field order. */
  readonly problems: readonly ObjectProblem[];
}

/** `namespace/name` of a Service as the index keys it; non-string parts count as ''. */
export function serviceKey(svc: unknown): string {
  const { namespace, name } = objectName(svc);
  return `${namespace ?? ''}/${name}`;
}

/**
 * Validates every object of `snapshot` (see the file comment for what stands in for an invalid one).
 * Order-independent: the result's lists keep the input order of the valid objects; `problems` is sorted.
 */
export function screenSnapshot(snapshot: ServiceLBSnapshot, names: ProgramNames): ScreenedSnapshot {
  const problems: ObjectProblem[] = [];
  const note = (kind: ObjectProblem['kind'], obj: unknown, found: readonly FieldProblem[]): boolean => {
    if (found.length === 0) return true;
    const { namespace, name } = objectName(obj);
    for (const p of found) problems.push({ kind, ...(namespace !== undefined ? { namespace } : {}), name, field: p.field, value: p.value, message: p.message });
    return false;
  };
  const invalidServices = new Map<string, readonly FieldProblem[]>();
  for (const svc of snapshot.services) {
    const found = validateService(svc);
    if (!note('Service', svc, found)) invalidServices.set(serviceKey(svc), found);
  }
  let invalidNodeAllowListed = false;
  const nodes: Node[] = [];
  for (const n of snapshot.nodes) {
    if (note('Node', n, validateNode(n))) nodes.push(n);
    else {
      const m: unknown = isObj(n) ? n['metadata'] : undefined;
      const l: unknown = isObj(m) ? m['labels'] : undefined;
      if (isObj(l) && l[names.enableLbLabel] !== undefined) invalidNodeAllowListed = true;
    }
  }
  const pods: Pod[] = snapshot.pods.filter((p) => note('Pod', p, validatePod(p)));
  const endpointSlices: EndpointSlice[] = snapshot.endpointSlices.filter((s) => note('EndpointSlice', s, validateEndpointSlice(s)));
  const daemonSets: DaemonSet[] = snapshot.daemonSets.filter((d) => note('DaemonSet', d, validateDaemonSet(d)));
  const services: Service[] = [...snapshot.services];
  const order = (p: ObjectProblem): string => `${p.kind}\u0000${p.namespace ?? ''}\u0000${p.name}`;
  // Stable sort: problems of one object keep their field order.
  const sorted = problems.map((p, i) => ({ p, i, k: order(p) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  return { snapshot: { services, nodes, pods, endpointSlices, daemonSets }, invalidServices, invalidNodeAllowListed, problems: sorted.map((x) => x.p) };
}

/** One problem as a line: `Service ns/name: spec.ports[0].port: "http": must be ...`. */
export function objectProblemText(p: ObjectProblem): string {
  return `${p.kind} ${p.namespace !== undefined ? `${p.namespace}/` : ''}${p.name}: ${p.field === '' ? '' : `${p.field}: `}${JSON.stringify(p.value)}: ${p.message}`;
}
