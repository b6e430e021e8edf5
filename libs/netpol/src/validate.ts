import { cidrWithin, parseCIDR } from './ip.ts';
import type { LabelSelector, Namespace, NetpolSnapshot, NetworkPolicy, Node, Pod, Problem } from './types.ts';

/**
 * Validation of the objects the core reads, as the API server validates them, in one place: shape
 * (a map where a list belongs, a string where a selector belongs, a missing field) first, then the
 * values (label syntax, selector operators, ports, protocols, CIDRs). Nothing here throws, whatever
 * the input: every function takes `unknown`.
 *
 * {@link screenSnapshot} runs every object of a snapshot through it before the renderer sees them and
 * decides what stands in for an invalid object. The rule is **fail closed**: an invalid object never
 * makes the output more permissive than the same snapshot without it.
 * - An invalid NetworkPolicy is replaced by its *isolation form*: the same namespace, its own pod
 *   selector when that is valid (else `{}`, every pod of the namespace), its policy types (both when
 *   they cannot be read), and no rules. Dropping it would widen: the pods it isolates would become
 *   reachable. A policy without rules only ever removes allowed connections.
 * - An invalid Pod, Namespace or Node is left out (a pod that is not there is no peer of any policy;
 *   an unknown namespace matches no namespace selector).
 * - With `keepLastGood` (the agent's long-lived renderer), an invalid object whose previous version
 *   was valid keeps that version in force instead: what was enforced before the bad update stays.
 * `render` and `apply` exit 2 on any of these problems; `run` logs them and records a Warning Event.
 */

/** `[field, value, message]`. */
type Raw = [string, string, string];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A value as problem text: strings as they are, anything else as (shortened) JSON. */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : `a ${typeof v}`);

/** Checks `v` is a list (or absent when `optional`); returns the items to check further. */
function list(out: Raw[], v: unknown, field: string, what = 'a list'): readonly unknown[] {
  if (absent(v)) return [];
  if (!Array.isArray(v)) {
    out.push([field, showValue(v), `must be ${what}, not ${typeName(v)}`]);
    return [];
  }
  return v;
}

function map(out: Raw[], v: unknown, field: string): Record<string, unknown> | undefined {
  if (absent(v)) return undefined;
  if (!isObj(v)) {
    out.push([field, showValue(v), `must be a map, not ${typeName(v)}`]);
    return undefined;
  }
  return v;
}

/** A list element that must be a map: unlike a field, it may not be null. */
function item(out: Raw[], v: unknown, field: string): Record<string, unknown> | undefined {
  if (absent(v)) {
    out.push([field, String(v), `must be a map, not ${v === null ? 'null' : 'undefined'}`]);
    return undefined;
  }
  return map(out, v, field);
}

function str(out: Raw[], v: unknown, field: string): string | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'string') {
    out.push([field, showValue(v), `must be a string, not ${typeName(v)}`]);
    return undefined;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Names, labels, selectors
// ---------------------------------------------------------------------------------------------

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return 'prefix must be a DNS-1123 subdomain';
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return 'name part must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return undefined;
}

function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, not ${typeName(value)}`;
  if (value.length > 63 || (value.length > 0 && !LABEL_NAME.test(value))) {
    return 'must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric';
  }
  return undefined;
}

/** A label map (metadata.labels, matchLabels): a map of valid keys to valid string values. */
function labels(out: Raw[], v: unknown, field: string): void {
  const m = map(out, v, field);
  if (!m) return;
  for (const k of Object.keys(m)) {
    const kp = labelKeyProblem(k);
    if (kp) out.push([field, k, `invalid label key: ${kp}`]);
    const vp = labelValueProblem(m[k]);
    if (vp) out.push([`${field}.${k}`, showValue(m[k]), `invalid label value: ${vp}`]);
  }
}

function annotations(out: Raw[], v: unknown, field: string): void {
  const m = map(out, v, field);
  if (!m) return;
  for (const k of Object.keys(m)) if (typeof m[k] !== 'string') out.push([`${field}.${k}`, showValue(m[k]), `must be a string, not ${typeName(m[k])}`]);
}

/** A `metav1.LabelSelector`. */
function selector(out: Raw[], v: unknown, field: string): void {
  const sel = map(out, v, field);
  if (!sel) return;
  labels(out, sel['matchLabels'], `${field}.matchLabels`);
  list(out, sel['matchExpressions'], `${field}.matchExpressions`).forEach((raw, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const e = item(out, raw, f);
    if (!e) return;
    const key = e['key'];
    if (typeof key !== 'string') out.push([`${f}.key`, showValue(key), 'must be a string label key']);
    else {
      const kp = labelKeyProblem(key);
      if (kp) out.push([`${f}.key`, key, `invalid label key: ${kp}`]);
    }
    const values = list(out, e['values'], `${f}.values`);
    const op = e['operator'];
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0 && (absent(e['values']) || Array.isArray(e['values']))) out.push([`${f}.values`, '[]', `must be non-empty when operator is ${op}`]);
        values.forEach((x, j) => {
          const vp = labelValueProblem(x);
          if (vp) out.push([`${f}.values[${j}]`, showValue(x), `invalid label value: ${vp}`]);
        });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) out.push([`${f}.values`, showValue(values), `must be empty when operator is ${op}`]);
        break;
      default:
        out.push([`${f}.operator`, showValue(op), 'not a valid selector operator (In, NotIn, Exists, DoesNotExist)']);
    }
  });
}

/** Problems of a label selector, as `[field, value, message]` (the renderer compiles valid ones only). */
export function selectorProblems(v: unknown, field: string): Raw[] {
  const out: Raw[] = [];
  selector(out, v, field);
  return out;
}

/** `metadata`: a map with a name of the given syntax and (namespaced kinds) a namespace. */
function metadata(out: Raw[], v: unknown, name: 'subdomain' | 'label'): void {
  if (!isObj(v)) {
    out.push(['metadata', showValue(v), `must be a map, not ${typeName(v)}`]);
    return;
  }
  const n = v['name'];
  if (typeof n !== 'string' || n === '') out.push(['metadata.name', showValue(n ?? ''), 'must be a non-empty string']);
  else if (n.length > (name === 'label' ? 63 : 253) || !(name === 'label' ? DNS_LABEL : DNS_SUBDOMAIN).test(n)) {
    out.push(['metadata.name', n, name === 'label' ? 'must be a DNS-1123 label (at most 63 lower-case alphanumerics or "-")' : 'must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".")']);
  }
  const ns = v['namespace'];
  if (!absent(ns) && (typeof ns !== 'string' || ns.length > 63 || !DNS_LABEL.test(ns))) {
    out.push(['metadata.namespace', showValue(ns), 'must be a DNS-1123 label']);
  }
  str(out, v['uid'], 'metadata.uid');
  labels(out, v['labels'], 'metadata.labels');
  annotations(out, v['annotations'], 'metadata.annotations');
}

// ---------------------------------------------------------------------------------------------
// Per kind
// ---------------------------------------------------------------------------------------------

type Kind = 'Pod' | 'Namespace' | 'Node' | 'NetworkPolicy';

function toProblems(kind: Kind, obj: unknown, raw: readonly Raw[]): Problem[] {
  const m = isObj(obj) && isObj(obj['metadata']) ? obj['metadata'] : {};
  const name = typeof m['name'] === 'string' ? m['name'] : '';
  const object =
    kind === 'Namespace' || kind === 'Node'
      ? { kind, name }
      : { kind, namespace: typeof m['namespace'] === 'string' ? m['namespace'] : 'default', name };
  return raw.map(([field, value, message]) => ({
    reason: kind === 'NetworkPolicy' ? ('InvalidNetworkPolicy' as const) : ('InvalidObject' as const),
    severity: 'error' as const,
    object,
    field,
    value,
    message,
  }));
}

/** What the API server would reject in a Pod (only the fields the core reads are checked). */
export function validatePod(obj: unknown): Problem[] {
  const out: Raw[] = [];
  if (!isObj(obj)) out.push(['', showValue(obj), `a Pod must be a map, not ${typeName(obj)}`]);
  else {
    metadata(out, obj['metadata'], 'subdomain');
    const spec = map(out, obj['spec'], 'spec');
    if (spec) {
      str(out, spec['nodeName'], 'spec.nodeName');
      if (!absent(spec['hostNetwork']) && typeof spec['hostNetwork'] !== 'boolean') out.push(['spec.hostNetwork', showValue(spec['hostNetwork']), 'must be true or false']);
      list(out, spec['containers'], 'spec.containers').forEach((c, i) => {
        const cm = item(out, c, `spec.containers[${i}]`);
        if (!cm) return;
        list(out, cm['ports'], `spec.containers[${i}].ports`).forEach((p, j) => {
          const f = `spec.containers[${i}].ports[${j}]`;
          const pm = item(out, p, f);
          if (!pm) return;
          const cp = pm['containerPort'];
          if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 1 || cp > 65535) out.push([`${f}.containerPort`, showValue(cp), 'must be an integer between 1 and 65535']);
          const name = str(out, pm['name'], `${f}.name`);
          if (name !== undefined && name !== '' && (!IANA_SVC_NAME.test(name) || name.includes('--') || !/[a-z]/.test(name))) {
            out.push([`${f}.name`, name, 'must be an IANA service name (1-15 lower-case alphanumerics or "-", with a letter)']);
          }
          const proto = pm['protocol'];
          if (!absent(proto) && !PROTOCOLS.includes(proto as string)) out.push([`${f}.protocol`, showValue(proto), 'must be TCP, UDP or SCTP']);
        });
      });
    }
    const status = map(out, obj['status'], 'status');
    if (status) {
      str(out, status['phase'], 'status.phase');
      str(out, status['podIP'], 'status.podIP');
      str(out, status['hostIP'], 'status.hostIP');
      list(out, status['podIPs'], 'status.podIPs').forEach((x, i) => {
        const xm = item(out, x, `status.podIPs[${i}]`);
        if (xm && typeof xm['ip'] !== 'string') out.push([`status.podIPs[${i}].ip`, showValue(xm['ip']), 'must be a string']);
      });
    }
  }
  return toProblems('Pod', obj, out);
}

export function validateNamespace(obj: unknown): Problem[] {
  const out: Raw[] = [];
  if (!isObj(obj)) out.push(['', showValue(obj), `a Namespace must be a map, not ${typeName(obj)}`]);
  else metadata(out, obj['metadata'], 'label');
  return toProblems('Namespace', obj, out);
}

export function validateNode(obj: unknown): Problem[] {
  const out: Raw[] = [];
  if (!isObj(obj)) out.push(['', showValue(obj), `a Node must be a map, not ${typeName(obj)}`]);
  else {
    metadata(out, obj['metadata'], 'subdomain');
    const spec = map(out, obj['spec'], 'spec');
    if (spec) {
      str(out, spec['podCIDR'], 'spec.podCIDR');
      list(out, spec['podCIDRs'], 'spec.podCIDRs').forEach((c, i) => {
        if (typeof c !== 'string') out.push([`spec.podCIDRs[${i}]`, showValue(c), `must be a string, not ${typeName(c)}`]);
      });
    }
    const status = map(out, obj['status'], 'status');
    if (status) {
      list(out, status['addresses'], 'status.addresses').forEach((a, i) => {
        const am = item(out, a, `status.addresses[${i}]`);
        if (!am) return;
        if (typeof am['type'] !== 'string') out.push([`status.addresses[${i}].type`, showValue(am['type']), 'must be a string']);
        if (typeof am['address'] !== 'string') out.push([`status.addresses[${i}].address`, showValue(am['address']), 'must be a string']);
      });
    }
  }
  return toProblems('Node', obj, out);
}

function port(out: Raw[], v: unknown, field: string): void {
  const p = item(out, v, field);
  if (!p) return;
  const protocol = p['protocol'];
  if (!absent(protocol) && !PROTOCOLS.includes(protocol as string)) out.push([`${field}.protocol`, showValue(protocol), 'must be TCP, UDP or SCTP']);
  const n = p['port'];
  if (typeof n === 'number') {
    if (!Number.isInteger(n) || n < 1 || n > 65535) out.push([`${field}.port`, String(n), 'must be between 1 and 65535']);
  } else if (typeof n === 'string') {
    if (!IANA_SVC_NAME.test(n) || n.includes('--') || !/[a-z]/.test(n)) {
      out.push([`${field}.port`, n, 'must be a port number or an IANA service name (1-15 lower-case alphanumerics or "-", with a letter)']);
    }
  } else if (!absent(n)) {
    out.push([`${field}.port`, showValue(n), `must be a number or a string, not ${typeName(n)}`]);
  }
  const end = p['endPort'];
  if (!absent(end)) {
    if (typeof end !== 'number') out.push([`${field}.endPort`, showValue(end), `must be a number, not ${typeName(end)}`]);
    else if (typeof n !== 'number') out.push([`${field}.endPort`, String(end), 'may only be set with a numeric port']);
    else if (!Number.isInteger(end) || end < n || end > 65535) out.push([`${field}.endPort`, String(end), `must be between port (${n}) and 65535`]);
  }
}

function peer(out: Raw[], v: unknown, field: string): void {
  const p = item(out, v, field);
  if (!p) return;
  const hasSel = !absent(p['podSelector']) || !absent(p['namespaceSelector']);
  const block = p['ipBlock'];
  if (!absent(block) && hasSel) out.push([field, 'ipBlock with podSelector/namespaceSelector', 'ipBlock may not be combined with podSelector or namespaceSelector']);
  if (absent(block) && !hasSel) out.push([field, '{}', 'must specify a peer (podSelector, namespaceSelector or ipBlock)']);
  selector(out, p['podSelector'], `${field}.podSelector`);
  selector(out, p['namespaceSelector'], `${field}.namespaceSelector`);
  const b = map(out, block, `${field}.ipBlock`);
  if (!b) return;
  const cidrText = b['cidr'];
  const cidr = typeof cidrText === 'string' ? parseCIDR(cidrText) : undefined;
  if (!cidr) out.push([`${field}.ipBlock.cidr`, showValue(cidrText ?? ''), 'must be a valid CIDR']);
  list(out, b['except'], `${field}.ipBlock.except`).forEach((x, i) => {
    const e = typeof x === 'string' ? parseCIDR(x) : undefined;
    if (!e) out.push([`${field}.ipBlock.except[${i}]`, showValue(x), 'must be a valid CIDR']);
    else if (cidr && (!cidrWithin(e, cidr) || e.prefix <= cidr.prefix)) {
      out.push([`${field}.ipBlock.except[${i}]`, String(x), `must be a strict subset of cidr ${String(cidrText)}`]);
    }
  });
}

/** `spec.policyTypes` when it is a valid list, else undefined. */
function policyTypes(out: Raw[], v: unknown): void {
  const types = list(out, v, 'spec.policyTypes');
  if (types.length > 2) out.push(['spec.policyTypes', showValue(types), 'may hold at most Ingress and Egress']);
  types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') out.push([`spec.policyTypes[${i}]`, showValue(t), 'must be Ingress or Egress']);
  });
}

/**
 * The problems the API server's validation would report for this NetworkPolicy (shape, selectors,
 * ports, peers, CIDRs, policyTypes). A missing `spec` is the API server's zero value (`podSelector:
 * {}`, ingress isolation of the whole namespace), not a problem.
 */
export function validateNetworkPolicy(obj: unknown): Problem[] {
  const out: Raw[] = [];
  if (!isObj(obj)) out.push(['', showValue(obj), `a NetworkPolicy must be a map, not ${typeName(obj)}`]);
  else {
    metadata(out, obj['metadata'], 'subdomain');
    const spec = map(out, obj['spec'], 'spec');
    if (spec) {
      selector(out, spec['podSelector'], 'spec.podSelector');
      policyTypes(out, spec['policyTypes']);
      for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
        list(out, spec[dir], `spec.${dir}`).forEach((r, i) => {
          const f = `spec.${dir}[${i}]`;
          const rm = item(out, r, f);
          if (!rm) return;
          list(out, rm['ports'], `${f}.ports`).forEach((p, j) => port(out, p, `${f}.ports[${j}]`));
          list(out, rm[peers], `${f}.${peers}`).forEach((p, j) => peer(out, p, `${f}.${peers}[${j}]`));
        });
      }
    }
  }
  return toProblems('NetworkPolicy', obj, out);
}

// ---------------------------------------------------------------------------------------------
// Screening a snapshot
// ---------------------------------------------------------------------------------------------

/**
 * The isolation form of an invalid policy (see the file comment), or undefined when the object has
 * no readable namespace/name (it cannot be attributed to a namespace, so nothing can be isolated;
 * the same as the snapshot without it).
 */
export function isolationPolicy(obj: unknown): NetworkPolicy | undefined {
  if (!isObj(obj) || !isObj(obj['metadata'])) return undefined;
  const m = obj['metadata'];
  const name = m['name'];
  const namespace = absent(m['namespace']) ? 'default' : m['namespace'];
  if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || !DNS_LABEL.test(namespace) || namespace.length > 63) return undefined;
  const specReadable = absent(obj['spec']) || isObj(obj['spec']);
  const spec = isObj(obj['spec']) ? obj['spec'] : {};
  const sel = spec['podSelector'];
  const podSelector = selectorProblems(sel, 'spec.podSelector').length === 0 && !absent(sel) ? (sel as LabelSelector) : {};
  const typesOk: Raw[] = [];
  policyTypes(typesOk, spec['policyTypes']);
  let types: string[];
  if (typesOk.length > 0 || !specReadable) types = ['Ingress', 'Egress'];
  else if (Array.isArray(spec['policyTypes']) && spec['policyTypes'].length > 0) types = [...new Set(spec['policyTypes'] as string[])].sort();
  else types = absent(spec['egress']) ? ['Ingress'] : ['Ingress', 'Egress'];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, ...(typeof m['uid'] === 'string' ? { uid: m['uid'] } : {}) },
    spec: { podSelector, policyTypes: types },
  };
}

type Item = Pod | Namespace | NetworkPolicy | Node;

/** State kept between screenings by a long-lived renderer. */
export interface ScreenMemo {
  /** Validation results per object (objects are immutable, as informer caches treat them). */
  readonly verdicts: WeakMap<object, readonly Problem[]>;
  /** Isolation forms per invalid policy object (stable identity, so render caches hit). */
  readonly standIns: WeakMap<object, NetworkPolicy | null>;
  /** Keep an invalid object's previous valid version in force (the agent), instead of the fallback. */
  readonly keepLastGood: boolean;
  /** The previous screened snapshot: where previous valid versions are found. */
  prev?: Required<NetpolSnapshot>;
}

export function newScreenMemo(keepLastGood: boolean): ScreenMemo {
  return { verdicts: new WeakMap(), standIns: new WeakMap(), keepLastGood };
}

/** A valid policy without `spec` as the API server stores it (`spec: {}`), so readers may use `.spec`. */
function withSpec(memo: ScreenMemo, p: NetworkPolicy): NetworkPolicy {
  if (!absent(p.spec)) return p;
  let fixed = memo.standIns.get(p);
  if (!fixed) memo.standIns.set(p, (fixed = { ...p, spec: {} }));
  return fixed;
}

const VALIDATORS: Record<Kind, (o: unknown) => Problem[]> = {
  Pod: validatePod,
  Namespace: validateNamespace,
  Node: validateNode,
  NetworkPolicy: validateNetworkPolicy,
};

function keyOf(kind: Kind, o: unknown): string | undefined {
  if (!isObj(o) || !isObj(o['metadata'])) return undefined;
  const { name, namespace } = o['metadata'];
  if (typeof name !== 'string') return undefined;
  if (kind === 'Namespace' || kind === 'Node') return name;
  if (!absent(namespace) && typeof namespace !== 'string') return undefined;
  return `${(namespace as string | undefined) ?? 'default'}/${name}`;
}

function uidOf(o: unknown): unknown {
  return isObj(o) && isObj(o['metadata']) ? o['metadata']['uid'] : undefined;
}

/**
 * Passes every object of `snapshot` through validation and returns the snapshot the renderer may
 * trust, with one problem per offending field. See the file comment for what replaces an invalid
 * object. Linear in the snapshot; validation results are cached per object in `memo`.
 */
export function screenSnapshot(snapshot: NetpolSnapshot, memo: ScreenMemo = newScreenMemo(false)): { snapshot: Required<NetpolSnapshot>; problems: Problem[] } {
  const problems: Problem[] = [];
  const screen = <T extends Item>(kind: Kind, input: unknown, prevList: readonly T[] | undefined): T[] => {
    const items: readonly unknown[] = Array.isArray(input) ? input : [];
    const out: T[] = [];
    let invalid: unknown[] | undefined;
    for (const o of items) {
      let verdict = typeof o === 'object' && o !== null ? memo.verdicts.get(o) : undefined;
      if (!verdict) {
        verdict = VALIDATORS[kind](o);
        if (typeof o === 'object' && o !== null) memo.verdicts.set(o, verdict);
      }
      if (verdict.length === 0) out.push(kind === 'NetworkPolicy' ? (withSpec(memo, o as NetworkPolicy) as T) : (o as T));
      else (invalid ??= []).push(o);
    }
    if (!invalid) return out;
    // Rare path: decide what stands in for each invalid object.
    const validKeys = new Set<string>();
    for (const o of out) validKeys.add(keyOf(kind, o)!);
    let prevByKey: Map<string, T> | undefined;
    for (const o of invalid) {
      const verdict = memo.verdicts.get(o as object) ?? VALIDATORS[kind](o);
      const key = keyOf(kind, o);
      let consequence: string;
      let last: T | undefined;
      if (key !== undefined && validKeys.has(key)) {
        consequence = 'another object with this name is valid and is used';
      } else if (key !== undefined && memo.keepLastGood && prevList && (prevByKey ??= new Map(prevList.map((p) => [keyOf(kind, p)!, p]))).has(key) && (last = prevByKey.get(key)) !== undefined && (uidOf(o) === undefined || uidOf(last) === undefined || uidOf(o) === uidOf(last))) {
        out.push(last);
        validKeys.add(key);
        consequence = 'its last valid version stays in force';
      } else if (kind === 'NetworkPolicy') {
        let stand = memo.standIns.get(o as object);
        if (stand === undefined) {
          stand = isolationPolicy(o) ?? null;
          if (typeof o === 'object' && o !== null) memo.standIns.set(o, stand);
        }
        if (stand && key !== undefined) {
          out.push(stand as T);
          validKeys.add(key);
          consequence = `fail closed: enforced as ${stand.spec.policyTypes!.join('+')} isolation of the pods it selects, with no allow rules, until fixed`;
        } else consequence = 'it names no namespace and is ignored';
      } else {
        consequence = kind === 'Pod' ? 'the pod is ignored (no peer of any policy, not programmed)' : `the ${kind.toLowerCase()} is ignored`;
      }
      for (const p of verdict) problems.push({ ...p, message: `${p.message}; ${consequence}` });
    }
    return out;
  };
  const prev = memo.prev;
  const raw = snapshot as unknown as Record<string, unknown>;
  const clean: Required<NetpolSnapshot> = {
    pods: screen<Pod>('Pod', raw['pods'], prev?.pods),
    namespaces: screen<Namespace>('Namespace', raw['namespaces'], prev?.namespaces),
    networkPolicies: screen<NetworkPolicy>('NetworkPolicy', raw['networkPolicies'], prev?.networkPolicies),
    nodes: screen<Node>('Node', raw['nodes'], prev?.nodes),
  };
  if (memo.keepLastGood) memo.prev = clean;
  return { snapshot: clean, problems };
}
