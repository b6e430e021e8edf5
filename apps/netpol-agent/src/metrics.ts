import { Counter, Gauge, Histogram, type Registry } from '@portico/service-kit';
import type { Family } from '@portico/netpol';
import type { KernelObserver } from '@portico/iptables/adapter';
import { KubeRouterMetric } from '@portico/labels';

/**
 * Every metric of netpol-agent, in one place (STYLE rule 11); docs/netpol-agent.md lists them and a
 * unit test checks the two agree.
 *
 * kube-router's names (spec section 4.6) are kept exactly, so K3s dashboards keep working:
 * `kube_router_controller_*`. Portico's own additions carry the `portico_netpol_` prefix.
 */

const SYNC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const METRIC_NAMES = [
  KubeRouterMetric.buildInfo,
  KubeRouterMetric.syncTime,
  KubeRouterMetric.saveTimeV4,
  KubeRouterMetric.saveTimeV6,
  KubeRouterMetric.restoreTimeV4,
  KubeRouterMetric.restoreTimeV6,
  KubeRouterMetric.chainsSyncTime,
  KubeRouterMetric.ipsetRestoreTimeV4,
  KubeRouterMetric.ipsetRestoreTimeV6,
  KubeRouterMetric.policyChains,
  KubeRouterMetric.policyIpsets,
  'portico_netpol_syncs_total',
  'portico_netpol_sync_failures_total',
  'portico_netpol_kernel_writes_total',
  'portico_netpol_kernel_write_bytes_total',
  'portico_netpol_kernel_reads_total',
  'portico_netpol_drift_repairs_total',
  'portico_netpol_last_sync_success_timestamp_seconds',
  'portico_netpol_last_sync_ok',
  'portico_netpol_pod_chains',
  'portico_netpol_render_problems',
  'portico_netpol_leftover_objects',
  'portico_netpol_cache_objects',
] as const;

export interface AgentMetrics {
  readonly syncTime: Histogram;
  readonly chainsSyncTime: Histogram;
  readonly policyChains: Gauge;
  readonly policyIpsets: Gauge;
  readonly syncs: Counter;
  readonly syncFailures: Counter;
  readonly kernelWrites: Counter;
  readonly kernelWriteBytes: Counter;
  readonly kernelReads: Counter;
  readonly driftRepairs: Counter;
  readonly lastSuccess: Gauge;
  readonly lastSyncOk: Gauge;
  readonly podChains: Gauge;
  readonly renderProblems: Gauge;
  readonly leftovers: Gauge;
  readonly cacheObjects: Gauge;
  /** Feeds the save/restore histograms and the write counters from the kernel adapter. */
  readonly kernelObserver: KernelObserver;
}

export function createAgentMetrics(registry: Registry, version: string): AgentMetrics {
  const registers = [registry];
  const hist = (name: string, help: string): Histogram => new Histogram({ name, help, buckets: SYNC_BUCKETS, registers });
  new Gauge({ name: KubeRouterMetric.buildInfo, help: 'Build information (kube-router name; the implementation is Portico netpol-agent)', labelNames: ['version', 'implementation'], registers })
    .labels(version, 'portico')
    .set(1);
  const save = { IPv4: hist(KubeRouterMetric.saveTimeV4, 'Time to save the IPv4 filter table (seconds)'), IPv6: hist(KubeRouterMetric.saveTimeV6, 'Time to save the IPv6 filter table (seconds)') };
  const restore = {
    IPv4: hist(KubeRouterMetric.restoreTimeV4, 'Time of one IPv4 iptables-restore (seconds)'),
    IPv6: hist(KubeRouterMetric.restoreTimeV6, 'Time of one IPv6 ip6tables-restore (seconds)'),
  };
  const ipsetRestore = {
    IPv4: hist(KubeRouterMetric.ipsetRestoreTimeV4, 'Time of one IPv4 ipset restore (seconds)'),
    IPv6: hist(KubeRouterMetric.ipsetRestoreTimeV6, 'Time of one IPv6 ipset restore (seconds)'),
  };
  const kernelWrites = new Counter({ name: 'portico_netpol_kernel_writes_total', help: 'Restore invocations that wrote to the kernel', labelNames: ['family', 'tool', 'result'], registers });
  const kernelWriteBytes = new Counter({ name: 'portico_netpol_kernel_write_bytes_total', help: 'Bytes of restore input written to the kernel', labelNames: ['family', 'tool'], registers });
  const kernelReads = new Counter({ name: 'portico_netpol_kernel_reads_total', help: 'Kernel state reads (iptables-save, ipset save)', labelNames: ['tool'], registers });
  const fam = (f: Family): string => (f === 'IPv4' ? 'ipv4' : 'ipv6');
  const kernelObserver: KernelObserver = {
    onSave(what, family, seconds) {
      kernelReads.labels(what).inc();
      if (what === 'iptables' && family) save[family].observe(seconds);
    },
    onRestore(what, family, seconds, bytes, ok) {
      kernelWrites.labels(fam(family), what, ok ? 'ok' : 'error').inc();
      kernelWriteBytes.labels(fam(family), what).inc(bytes);
      (what === 'iptables' ? restore : ipsetRestore)[family].observe(seconds);
    },
  };
  return {
    syncTime: hist(KubeRouterMetric.syncTime, 'Time of one full sync: render, plan and apply (seconds)'),
    chainsSyncTime: hist(KubeRouterMetric.chainsSyncTime, 'Time to render and plan the policy chains and sets (seconds)'),
    policyChains: new Gauge({ name: KubeRouterMetric.policyChains, help: 'Active policy chains (each family counted)', registers }),
    policyIpsets: new Gauge({ name: KubeRouterMetric.policyIpsets, help: 'Active policy ipsets (each family counted)', registers }),
    syncs: new Counter({ name: 'portico_netpol_syncs_total', help: 'Syncs by result (applied, unchanged, failed)', labelNames: ['result'], registers }),
    syncFailures: new Counter({ name: 'portico_netpol_sync_failures_total', help: 'Failed syncs by family and phase (stage, shrink, iptables, grow, read, plan, render)', labelNames: ['family', 'phase'], registers }),
    kernelWrites,
    kernelWriteBytes,
    kernelReads,
    driftRepairs: new Counter({ name: 'portico_netpol_drift_repairs_total', help: 'Periodic resyncs that found the kernel differing from the last applied state and repaired it', registers }),
    lastSuccess: new Gauge({ name: 'portico_netpol_last_sync_success_timestamp_seconds', help: 'Unix time of the last successful sync', registers }),
    lastSyncOk: new Gauge({ name: 'portico_netpol_last_sync_ok', help: '1 if the last sync succeeded, 0 if it failed', registers }),
    podChains: new Gauge({ name: 'portico_netpol_pod_chains', help: 'Pod firewall chains (local pods, each family counted)', registers }),
    renderProblems: new Gauge({ name: 'portico_netpol_render_problems', help: 'Problems the renderer reported in the last sync, by reason', labelNames: ['reason'], registers }),
    leftovers: new Gauge({ name: 'portico_netpol_leftover_objects', help: 'Stale chains or sets that could not be removed (in use by foreign rules)', registers }),
    cacheObjects: new Gauge({ name: 'portico_netpol_cache_objects', help: 'Objects in the watch caches, by kind', labelNames: ['kind'], registers }),
    kernelObserver,
  };
}
