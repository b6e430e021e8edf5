/**
 * @portico/servicelb-runtime — the ServiceLB controller loop (type:adapter), shared by
 * apps/servicelb-controller and apps/ccm so the two differ only in `main` and config.
 *
 * list-watch caches → a work queue of Service keys → the pure core (@portico/servicelb) → API
 * writes (writer.ts), under the ServiceLB Lease ({@link createServiceLBHost}). The flags both apps
 * expose for ServiceLB are defined here once (config.ts), and so is `render`'s ServiceLB part.
 *
 * ```ts
 * const host = createServiceLBHost({ client, core, work, leader, leaseName: SERVICELB_LEASE_NAME, ... });
 * host.start();            // caches now, reconciling while holding the Lease
 * await host.close();      // stop leading, release the Lease, stop caches, flush Events
 * ```
 * Test helpers (FakeKube-backed harness, builders) are in the `@portico/servicelb-runtime/testing`
 * entry point, never in this one.
 */

export * from './config.ts';
export { Caches, slimEndpointSlice, slimNode, type CacheEvent, type CachesOptions } from './caches.ts';
export { holdsOrHeldHostPorts, nodeChangeMatters, podChangeMatters, serviceChangeMatters, ServiceLBController, type ControllerOptions, type EventSink } from './controller.ts';
export { CLEANUP_FINALIZER, daemonSetDifference, labelsCover, Writer, type ApplyResult } from './writer.ts';
export { createControllerMetrics, MetricNames, type ControllerMetrics, type ReconcileResult } from './metrics.ts';
export { LeaderLoop, type LeaderLoopOptions } from './leader-loop.ts';
export { createServiceLBHost, type ServiceLBHost, type ServiceLBHostOptions } from './host.ts';
export { renderCoreConfig, renderFlags, renderServiceLBCommand, renderServiceLBPart, runRenderCommand, type RenderProducer } from './render.ts';
export { cleanupCommand, cleanupFlags, cleanupServiceLB, type CleanupOptions, type CleanupResult } from './cleanup.ts';
