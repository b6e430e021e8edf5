// prom-client implementations of the metrics hooks of ListWatch, WorkQueue, LeaderElector and
// EventRecorder, so an app wires them with one call. Names are prefixed `portico_` (DESIGN.md).

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventRecorderMetrics } from './events.ts';
import type { LeaderElectorMetrics } from './leader.ts';
import type { ListWatchMetrics } from './list-watch.ts';
import type { WorkQueueMetrics } from './workqueue.ts';

/** Every metric name libs/kube registers (checked against docs/kube.md by a test). */
export const KUBE_METRIC_NAMES = Object.freeze([
  'portico_kube_list_total',
  'portico_kube_list_duration_seconds',
  'portico_kube_watch_restarts_total',
  'portico_kube_watch_events_total',
  'portico_kube_cache_objects',
  'portico_workqueue_depth',
  'portico_workqueue_adds_total',
  'portico_workqueue_retries_total',
  'portico_workqueue_queue_duration_seconds',
  'portico_workqueue_work_duration_seconds',
  'portico_leader',
  'portico_kube_events_total',
] as const);

/** The hooks, ready to pass as `metrics` options. */
export interface KubeMetrics {
  readonly listWatch: ListWatchMetrics;
  readonly workQueue: WorkQueueMetrics;
  readonly leader: LeaderElectorMetrics;
  readonly events: EventRecorderMetrics;
}

/** Registers libs/kube's metrics on `registry` (once per registry) and returns the hooks. */
export function createKubeMetrics(registry: Registry): KubeMetrics {
  const registers = [registry];
  const lists = new Counter({ name: 'portico_kube_list_total', help: 'Complete LISTs of a list-watch cache, by reason (initial, gone, error)', labelNames: ['cache', 'reason'], registers });
  const listDuration = new Histogram({
    name: 'portico_kube_list_duration_seconds',
    help: 'Duration of a complete (all pages) LIST',
    labelNames: ['cache'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const restarts = new Counter({ name: 'portico_kube_watch_restarts_total', help: 'Watches restarted, by reason (closed, gone, inactivity, error)', labelNames: ['cache', 'reason'], registers });
  const events = new Counter({ name: 'portico_kube_watch_events_total', help: 'Changes delivered by a list-watch cache (add, update, delete) and bookmarks', labelNames: ['cache', 'type'], registers });
  const size = new Gauge({ name: 'portico_kube_cache_objects', help: 'Objects in a list-watch cache', labelNames: ['cache'], registers });
  const depth = new Gauge({ name: 'portico_workqueue_depth', help: 'Keys waiting in a work queue', labelNames: ['queue'], registers });
  const adds = new Counter({ name: 'portico_workqueue_adds_total', help: 'Keys added to a work queue', labelNames: ['queue'], registers });
  const retries = new Counter({ name: 'portico_workqueue_retries_total', help: 'Rate-limited re-adds (retries) of a work queue', labelNames: ['queue'], registers });
  const buckets = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300];
  const latency = new Histogram({ name: 'portico_workqueue_queue_duration_seconds', help: 'Time a key waited before a worker took it', labelNames: ['queue'], buckets, registers });
  const work = new Histogram({ name: 'portico_workqueue_work_duration_seconds', help: 'Time a worker spent on a key', labelNames: ['queue'], buckets, registers });
  const leader = new Gauge({ name: 'portico_leader', help: '1 while this process holds the leader Lease, else 0', labelNames: ['lease'], registers });
  const recorded = new Counter({ name: 'portico_kube_events_total', help: 'Kubernetes Events handled by the recorder, by outcome (created, aggregated, dropped, failed)', labelNames: ['reason', 'outcome'], registers });
  return {
    listWatch: {
      list: (i) => {
        lists.labels(i.name, i.reason).inc();
        listDuration.labels(i.name).observe(i.durationMs / 1000);
      },
      watchRestart: (i) => restarts.labels(i.name, i.reason).inc(),
      event: (i) => events.labels(i.name, i.type).inc(),
      cacheSize: (i) => size.labels(i.name).set(i.size),
    },
    workQueue: {
      depth: (i) => depth.labels(i.name).set(i.depth),
      add: (i) => adds.labels(i.name).inc(),
      retry: (i) => retries.labels(i.name).inc(),
      latency: (i) => latency.labels(i.name).observe(i.ms / 1000),
      workDuration: (i) => work.labels(i.name).observe(i.ms / 1000),
    },
    leader: {
      leader: (i) => leader.labels(i.lease).set(i.isLeader ? 1 : 0),
    },
    events: {
      event: (i) => recorded.labels(i.reason, i.outcome).inc(),
    },
  };
}
