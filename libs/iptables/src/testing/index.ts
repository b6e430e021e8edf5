/**
 * @portico/iptables/testing: test doubles of the kernel layer, kept off the production entry points.
 *
 * - {@link FakeKernelRunner}: an in-memory iptables-save/-restore and ipset save/restore that
 *   understands exactly what the planner writes (all-or-nothing iptables restores, line-by-line ipset
 *   restores that stop at the first error).
 */
export * from './fake-kernel.ts';
