// Resource types: how an (apiVersion, kind) maps to a REST path.
//
// Portico touches a small, fixed set of kinds, so the common ones are a static table (no discovery
// round trip at start-up, and unit tests need no server). Anything else is resolved through API
// discovery by `KubeClient.resource()` (see client.ts), which caches the answer.

/** One REST resource: enough to build its URL and to name it in logs. */
export interface ResourceType {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in the URL, e.g. `configmaps`. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

function r(apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return Object.freeze({ group, version, plural, kind, namespaced });
}

/** The kinds Portico uses, resolvable without discovery. */
export const Resources = Object.freeze({
  Namespace: r('v1', 'Namespace', 'namespaces', false),
  Node: r('v1', 'Node', 'nodes', false),
  Pod: r('v1', 'Pod', 'pods', true),
  Service: r('v1', 'Service', 'services', true),
  Endpoints: r('v1', 'Endpoints', 'endpoints', true),
  ServiceAccount: r('v1', 'ServiceAccount', 'serviceaccounts', true),
  ConfigMap: r('v1', 'ConfigMap', 'configmaps', true),
  Secret: r('v1', 'Secret', 'secrets', true),
  Event: r('v1', 'Event', 'events', true),
  EventsV1: r('events.k8s.io/v1', 'Event', 'events', true),
  DaemonSet: r('apps/v1', 'DaemonSet', 'daemonsets', true),
  Deployment: r('apps/v1', 'Deployment', 'deployments', true),
  Lease: r('coordination.k8s.io/v1', 'Lease', 'leases', true),
  EndpointSlice: r('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true),
  NetworkPolicy: r('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true),
  ClusterRole: r('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false),
  ClusterRoleBinding: r('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  Role: r('rbac.authorization.k8s.io/v1', 'Role', 'roles', true),
  RoleBinding: r('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true),
  CustomResourceDefinition: r('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
} satisfies Record<string, ResourceType>);

/** `group/version`, or `version` for the core group: the `apiVersion` of objects of this type. */
export function apiVersionOf(res: ResourceType): string {
  return res.group === '' ? res.version : `${res.group}/${res.version}`;
}

/** Static lookup by apiVersion and kind; `undefined` when the table does not know the pair. */
export function staticResourceFor(apiVersion: string, kind: string): ResourceType | undefined {
  for (const res of Object.values(Resources) as ResourceType[]) {
    if (res.kind === kind && apiVersionOf(res) === apiVersion) return res;
  }
  return undefined;
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(res: Pick<ResourceType, 'group' | 'version'>): string {
  return res.group === '' ? `/api/${res.version}` : `/apis/${res.group}/${res.version}`;
}

/**
 * The URL path of a collection (`name` omitted) or of one object, optionally of a subresource.
 * `namespace` is required for namespaced resources when `name` is given; a collection path without
 * namespace lists across all namespaces.
 */
export function resourcePath(res: ResourceType, opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const { namespace, name, subresource } = opts;
  if (res.namespaced && name !== undefined && !namespace) {
    throw new Error(`${res.kind} ${name}: namespace is required for a namespaced resource`);
  }
  let path = groupVersionPath(res);
  if (res.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${res.plural}`;
  if (name !== undefined) {
    if (name === '') throw new Error(`${res.kind}: empty object name`);
    path += `/${encodeURIComponent(name)}`;
    if (subresource) path += `/${subresource}`;
  } else if (subresource) {
    throw new Error(`${res.kind}: subresource ${subresource} needs an object name`);
  }
  return path;
}

/** `kind` `namespace/name` for log lines and error messages. */
export function describeObject(res: Pick<ResourceType, 'kind'>, namespace: string | undefined, name: string): string {
  return namespace ? `${res.kind} ${namespace}/${name}` : `${res.kind} ${name}`;
}
