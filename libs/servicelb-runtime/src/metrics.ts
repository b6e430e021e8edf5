// The metrics the ServiceLB controller defines (servicelb-controller, and ccm when it hosts ServiceLB), in one place (STYLE rule 11). docs/servicelb.md lists
// the same names; metrics.test.ts checks both directions.

import { Counter, Gauge, Histogram, metricName, type Registry } from '@portico/service-kit';
import { SERVICE_STATES, type ServiceState } from '@portico/servicelb';

/** Outcome of one reconcile of one Service key. */
export type ReconcileResult = 'success' | 'error';

export const MetricNames = Object.freeze({
  reconcileDuration: metricName('portico_servicelb_reconcile_duration_seconds'),
  reconciles: metricName('portico_servicelb_reconciles_total'),
  services: metricName('portico_servicelb_services'),
  queueDepth: metricName('portico_servicelb_queue_depth'),
  leader: metricName('portico_servicelb_leader'),
  writes: metricName('portico_servicelb_api_writes_total'),
});

/** The controller's metrics, registered on the app's registry. */
export interface ControllerMetrics {
  observeReconcile(result: ReconcileResult, seconds: number): void;
  /** Replaces the per-state Service counts (every state is always reported, zeroes included). */
  setServiceStates(counts: ReadonlyMap<ServiceState, number>): void;
  setQueueDepth(depth: number): void;
  setLeader(isLeader: boolean): void;
  /** One write sent to the API server (`verb`: apply, patch, delete, create; `resource`: plural[/sub]). */
  countWrite(verb: string, resource: string, ok: boolean): void;
}

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  const duration = new Histogram({
    name: MetricNames.reconcileDuration,
    help: 'Time to reconcile one Service (compute, apply, status, events), by result',
    labelNames: ['result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const total = new Counter({ name: MetricNames.reconciles, help: 'Service reconciles, by result (success or error)', labelNames: ['result'], registers });
  const services = new Gauge({ name: MetricNames.services, help: 'Services by ServiceLB state (as of their last reconcile)', labelNames: ['state'], registers });
  const depth = new Gauge({ name: MetricNames.queueDepth, help: 'Service keys waiting in the work queue', registers });
  const leader = new Gauge({ name: MetricNames.leader, help: '1 while this process is the leader (or runs without leader election), else 0', registers });
  const writes = new Counter({ name: MetricNames.writes, help: 'Writes sent to the API server, by verb, resource and result (ok or error)', labelNames: ['verb', 'resource', 'result'], registers });
  for (const r of ['success', 'error'] as const) {
    total.labels(r).inc(0);
  }
  for (const s of SERVICE_STATES) services.labels(s).set(0);
  depth.set(0);
  leader.set(0);
  return {
    observeReconcile(result, seconds) {
      duration.labels(result).observe(seconds);
      total.labels(result).inc();
    },
    setServiceStates(counts) {
      for (const s of SERVICE_STATES) services.labels(s).set(counts.get(s) ?? 0);
    },
    setQueueDepth(n) {
      depth.set(n);
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
    countWrite(verb, resource, ok) {
      writes.labels(verb, resource, ok ? 'ok' : 'error').inc();
    },
  };
}
