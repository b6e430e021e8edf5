/**
 * @portico/servicelb/testing: object builders for ServiceLB tests (Services, Nodes, svclb Pods,
 * EndpointSlices), kept off the production entry point.
 */
export * from './builders.ts';
