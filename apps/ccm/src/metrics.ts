// The metrics ccm defines for node initialization, in one place (STYLE rule 11). docs/ccm.md lists
// the same names; docs.test.ts checks both directions. When ccm hosts ServiceLB, the
// portico_servicelb_* metrics of @portico/servicelb-runtime are on the same registry.

import { Counter, Gauge, Histogram, metricName, type Registry } from '@portico/service-kit';
import type { NodeState } from './instances.ts';

/** The states `portico_ccm_nodes` reports (`initializing` is transient: it ends as `initialized`). */
export const NODE_METRIC_STATES: readonly NodeState[] = ['waiting', 'initialized'];

export const MetricNames = Object.freeze({
  nodeSyncs: metricName('portico_ccm_node_syncs_total'),
  nodeSyncDuration: metricName('portico_ccm_node_sync_duration_seconds'),
  nodes: metricName('portico_ccm_nodes'),
  initializations: metricName('portico_ccm_node_initializations_total'),
  taintRemovalDelay: metricName('portico_ccm_taint_removal_delay_seconds'),
  leader: metricName('portico_ccm_leader'),
  writes: metricName('portico_ccm_api_writes_total'),
});

export interface CcmMetrics {
  observeSync(result: 'success' | 'error', seconds: number): void;
  /** Replaces the per-state Node counts (every state always reported). */
  setNodeStates(counts: ReadonlyMap<NodeState, number>): void;
  /** A Node was initialized `delaySeconds` after its creation. */
  initialized(delaySeconds: number): void;
  setLeader(isLeader: boolean): void;
  countWrite(verb: string, resource: string, ok: boolean): void;
}

export function createCcmMetrics(registry: Registry): CcmMetrics {
  const registers = [registry];
  const syncs = new Counter({ name: MetricNames.nodeSyncs, help: 'Node reconciles, by result (success or error)', labelNames: ['result'], registers });
  const duration = new Histogram({
    name: MetricNames.nodeSyncDuration,
    help: 'Time to reconcile one Node (compute, writes, events), by result',
    labelNames: ['result'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const nodes = new Gauge({ name: MetricNames.nodes, help: 'Nodes by ccm state (waiting: tainted with no usable address; initialized), as of their last reconcile', labelNames: ['state'], registers });
  const inits = new Counter({ name: MetricNames.initializations, help: 'Nodes initialized (uninitialized taint removed) by this process', registers });
  const delay = new Histogram({
    name: MetricNames.taintRemovalDelay,
    help: 'Time from Node creation to the removal of its uninitialized taint (upstream node_controller_cloud_provider_taint_removal_delay_seconds)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers,
  });
  const leader = new Gauge({ name: MetricNames.leader, help: '1 while this process runs node initialization (holds its Lease, or runs without leader election), else 0', registers });
  const writes = new Counter({ name: MetricNames.writes, help: 'Node writes sent to the API server, by verb, resource and result (ok or error)', labelNames: ['verb', 'resource', 'result'], registers });
  for (const r of ['success', 'error'] as const) syncs.labels(r).inc(0);
  for (const s of NODE_METRIC_STATES) nodes.labels(s).set(0);
  inits.inc(0);
  leader.set(0);
  return {
    observeSync(result, seconds) {
      syncs.labels(result).inc();
      duration.labels(result).observe(seconds);
    },
    setNodeStates(counts) {
      for (const s of NODE_METRIC_STATES) nodes.labels(s).set(counts.get(s) ?? 0);
    },
    initialized(delaySeconds) {
      inits.inc();
      delay.observe(Math.max(0, delaySeconds));
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
    countWrite(verb, resource, ok) {
      writes.labels(verb, resource, ok ? 'ok' : 'error').inc();
    },
  };
}
