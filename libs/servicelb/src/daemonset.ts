import { ForwardingInit, ForwardingSysctl, Kube, KlipperEnv, ServiceLB, type ProgramNames } from '@portico/labels';
import type { Problem, ServiceLBConfig } from './api.ts';
import { daemonSetName } from './names.ts';
import { EXCLUDE_LABEL_FALSE_VALUES, nodeSelectorFor } from './nodes.ts';
import { sourceRanges } from './source-ranges.ts';
import { DEFAULT_TOLERATIONS, parseTolerationsAnnotation } from './tolerations.ts';
import type { DaemonSet, EnvVar, ForwardingInitContainer, Service, SvclbContainer, Toleration } from './types.ts';
import { isDnsSubdomain } from './validation.ts';

/**
 * The required node affinity that keeps svclb pods off nodes excluded from load balancers (Portico
 * fix for §10.12): the label is absent, or its value is one Go reads as false. Shared and frozen.
 */
const EXCLUSION_AFFINITY = deepFreeze({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: Kube.excludeFromExternalLBLabel, operator: 'DoesNotExist' as const }] },
        { matchExpressions: [{ key: Kube.excludeFromExternalLBLabel, operator: 'In' as const, values: EXCLUDE_LABEL_FALSE_VALUES }] },
      ],
    },
  },
});

// Parts every svclb DaemonSet shares. Frozen and shared between the objects the core returns (fewer
// allocations for 10,000 Services); nothing in Portico mutates emitted objects.
const NET_ADMIN = deepFreeze({ capabilities: { add: ['NET_ADMIN'] } });
const PRIVILEGED = deepFreeze({ privileged: true as const });
const UPDATE_STRATEGY = deepFreeze({ rollingUpdate: { maxUnavailable: 1 }, type: 'RollingUpdate' });
const HOST_IPS_ENV: EnvVar = deepFreeze({ name: KlipperEnv.destIPs, valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } });
const SYSCTL_IPV4 = deepFreeze({ name: ForwardingSysctl.IPv4, value: '1' });
const SYSCTL_IPV6 = deepFreeze({ name: ForwardingSysctl.IPv6, value: '1' });
const DEST_PROTO_ENV: Readonly<Record<string, EnvVar>> = deepFreeze({
  SCTP: { name: KlipperEnv.destProto, value: 'SCTP' },
  TCP: { name: KlipperEnv.destProto, value: 'TCP' },
  UDP: { name: KlipperEnv.destProto, value: 'UDP' },
});

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Inputs of {@link buildDaemonSet} besides the Service. */
export interface DaemonSetContext {
  readonly config: ServiceLBConfig;
  readonly names: ProgramNames;
  /** Allow-list mode, from {@link isAllowListMode} over all Nodes. */
  readonly allowList: boolean;
}

export type DaemonSetResult =
  | { readonly ok: true; readonly daemonSet: DaemonSet; readonly tolerations: readonly Toleration[] }
  | { readonly ok: false; readonly name: string; readonly problems: readonly Problem[] };

/** Whether a Service asks for node-local traffic (`RequestsOnlyLocalTraffic`: LoadBalancer/NodePort with ETP Local). */
export function requestsOnlyLocalTraffic(svc: Service): boolean {
  const type = svc.spec?.type;
  return (type === 'LoadBalancer' || type === 'NodePort') && svc.spec?.externalTrafficPolicy === 'Local';
}

/**
 * The svclb DaemonSet of a LoadBalancer Service (K3s `newDaemonSet`, spec §5.2–§5.9), with keys in
 * canonical order. Fails, with every problem found, when an annotation or field cannot be used:
 * the tolerations annotation, the source ranges (field or annotation) or the priority-class annotation.
 *
 * Differences from K3s, all deliberate:
 * - no wrangler `objectset.rio.cattle.io/*` annotations/labels (Portico uses server-side apply);
 * - `SRC_RANGES` sorted (§10.15);
 * - a required node affinity keeps pods off nodes labelled
 *   `node.kubernetes.io/exclude-from-external-load-balancers` (any value except a Go "false"; §10.12);
 * - the priority-class annotation must be empty or a valid PriorityClass name (else: Problem).
 */
export function buildDaemonSet(svc: Service, ctx: DaemonSetContext): DaemonSetResult {
  const { config, names } = ctx;
  const svcName = svc.metadata?.name ?? '';
  const svcNamespace = svc.metadata?.namespace ?? '';
  const name = daemonSetName(svcName, svc.metadata?.uid ?? '');
  const annotations = svc.metadata?.annotations ?? {};
  const problems: Problem[] = [];

  const tol = parseTolerationsAnnotation(names.tolerationsAnnotation, annotations[names.tolerationsAnnotation]);
  if (!tol.ok) problems.push(tol.problem);

  const ranges = sourceRanges(svc);
  if (!ranges.ok) problems.push(ranges.problem);

  let priorityClassName = config.defaultPriorityClassName;
  const priority = annotations[names.priorityClassAnnotation];
  if (priority !== undefined) {
    // K3s: the annotation wins whenever the key is present, an empty value included.
    priorityClassName = priority;
    if (priority !== '' && !isDnsSubdomain(priority)) {
      problems.push({ field: `annotation ${names.priorityClassAnnotation}`, value: priority, reason: 'not a valid PriorityClass name (must be empty or a DNS-1123 subdomain)' });
    }
  }

  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) {
    problems.push({ field: 'spec.ports', value: '[]', reason: 'a LoadBalancer Service needs at least one port' });
  }
  if (problems.length > 0 || !tol.ok || !ranges.ok) return { ok: false, name, problems };

  const local = requestsOnlyLocalTraffic(svc);
  const clusterIPs = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).join(',');
  const srcRangesEnv: EnvVar = { name: KlipperEnv.srcRanges, value: ranges.value };
  const destIPsEnv: EnvVar = local ? HOST_IPS_ENV : { name: KlipperEnv.destIPs, value: clusterIPs };
  const containers: SvclbContainer[] = ports.map((p) => {
    const protocol = p.protocol || 'TCP';
    const portName = `lb-${protocol.toLowerCase()}-${p.port}`;
    const env: EnvVar[] = [
      { name: KlipperEnv.srcPort, value: String(p.port) },
      srcRangesEnv,
      DEST_PROTO_ENV[protocol] ?? { name: KlipperEnv.destProto, value: protocol },
      { name: KlipperEnv.destPort, value: String(local ? (p.nodePort ?? 0) : p.port) },
      destIPsEnv,
    ];
    return {
      env,
      image: config.image,
      imagePullPolicy: 'IfNotPresent',
      name: portName,
      ports: [{ containerPort: p.port, hostPort: p.port, name: portName, protocol }],
      securityContext: NET_ADMIN,
    };
  });

  const sysctls: { name: string; value: string }[] = [];
  const families: string[] = [];
  for (const family of svc.spec?.ipFamilies ?? []) {
    if (family === 'IPv4') sysctls.push(SYSCTL_IPV4);
    else if (family === 'IPv6') sysctls.push(SYSCTL_IPV6);
    else continue;
    families.push(family);
  }
  // init-container mode: the same sysctls, written by a privileged init container in the pod's own
  // network namespace instead of by the kubelet (which refuses unsafe sysctls unless allowed).
  const initContainers: ForwardingInitContainer[] | undefined =
    config.forwardingMode === 'init-container' && families.length > 0
      ? [
          {
            args: [ForwardingInit.command, ForwardingInit.familiesFlag, families.join(',')],
            image: config.image,
            imagePullPolicy: 'IfNotPresent',
            name: ForwardingInit.containerName,
            securityContext: PRIVILEGED,
          },
        ]
      : undefined;
  const tolerations = [...DEFAULT_TOLERATIONS, ...tol.tolerations];
  const nodeSelector = nodeSelectorFor(svc.metadata?.labels, ctx.allowList, names);
  const selectorLabels = { [ServiceLB.appLabel]: name };
  const serviceLabels = { [names.svcNameLabel]: svcName, [names.svcNamespaceLabel]: svcNamespace };

  const daemonSet: DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      labels: { [names.nodeSelectorLabel]: ctx.allowList ? 'true' : 'false', ...serviceLabels },
      name,
      namespace: config.namespace,
    },
    spec: {
      selector: { matchLabels: selectorLabels },
      template: {
        metadata: { labels: { ...selectorLabels, ...serviceLabels } },
        spec: {
          affinity: EXCLUSION_AFFINITY,
          automountServiceAccountToken: false,
          containers,
          ...(initContainers ? { initContainers } : {}),
          ...(nodeSelector ? { nodeSelector } : {}),
          ...(priorityClassName !== '' ? { priorityClassName } : {}),
          securityContext: sysctls.length > 0 && !initContainers ? { sysctls } : {},
          serviceAccountName: ServiceLB.serviceAccountName,
          tolerations,
        },
      },
      updateStrategy: UPDATE_STRATEGY,
    },
  };
  // Every object above is written with its keys in canonical (sorted) order, so no sorting copy is
  // needed on this hot path; daemonset.test.ts checks the invariant with isCanonical().
  return { ok: true, daemonSet, tolerations };
}
