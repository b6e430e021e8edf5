/**
 * @portico/iptables/testing: test doubles and shared inputs of the kernel layer, kept off the
 * production entry points.
 *
 * - {@link FakeKernelRunner}: an in-memory iptables-save/-restore and ipset save/restore that
 *   understands exactly what the planner writes (all-or-nothing iptables restores, line-by-line ipset
 *   restores that stop at the first error).
 * - {@link RecordingRunner} (with {@link ok} and {@link failed}): a Runner that records every call and
 *   answers from a handler.
 * - fixtures.ts: restore tables and ipset ops shared by the golden tests and the data-plane tests.
 */
export * from './fake-kernel.ts';
export * from './recording-runner.ts';
export * from './fixtures.ts';
