// @portico/servicelb-runtime/testing: builders, a recording Event sink and a FakeKube-backed
// controller harness for the ServiceLB runtime's tests and the apps' unit tests. Never imported by
// a binary (lint: production code may not import a testing entry point).
export * from './harness.ts';
