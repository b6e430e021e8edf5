/**
 * @portico/iptables/adapter: the thin I/O half of the kernel layer. Everything that decides what to
 * write is in the pure entry point (@portico/iptables); this one only runs commands.
 *
 * - {@link nodeRunner}: the real {@link Runner} (child_process, argv only, never a shell).
 * - {@link ShellRunner}: a Runner that starts restore commands from one long-lived `/bin/sh`, so a
 *   large agent does not pay process start-up per write.
 * - {@link probeBackendFacts} / {@link detectBackend}: observe the system, then let the pure
 *   `decideBackend` choose nft or legacy.
 * - {@link iptablesRestore}, {@link ipsetRestore}, {@link iptablesSave}, {@link ipsetSave}: one
 *   restore call per input, read-back through the pure parsers; failures throw {@link CommandError}.
 *
 * Apps and adapter libs may import this entry point; core libs may not (lint).
 */
export * from './runner-node.ts';
export * from './shell-runner.ts';
export * from './probe.ts';
export * from './apply.ts';
export * from './kernel.ts';
