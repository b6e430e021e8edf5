/**
 * @portico/iptables: the iptables/ipset model, its text forms, hashed names, backend detection and
 * atomic apply.
 *
 * Pure parts (no I/O): model.ts ({@link Table}, {@link RestoreTable}, {@link Rule}), restore-text.ts
 * ({@link renderRestore}, {@link renderSave}), save-parse.ts ({@link parseSave}), ipset.ts
 * ({@link renderIpsetRestore}, {@link parseIpsetSave}), names.ts ({@link hashedName},
 * {@link positionedRuleId}, {@link tmpSetName}), backend.ts ({@link decideBackend}), runner.ts
 * (the {@link Runner} port and {@link RecordingRunner} fake), apply.ts (restore/save through a Runner).
 *
 * I/O: runner-node.ts ({@link nodeRunner}: child_process, argv only, never a shell) and probe.ts
 * ({@link probeBackendFacts}, {@link detectBackend}).
 *
 * Typical use:
 * ```ts
 * const runner = nodeRunner();
 * const { decision } = await detectBackend(runner, { override });
 * if (!decision.ok) throw new Error(decision.reason);
 * await iptablesRestore(runner, decision.backend.commands.IPv4, [natBlock, filterBlock]); // one call
 * ```
 */
export * from './model.ts';
export * from './tokens.ts';
export * from './restore-text.ts';
export * from './save-parse.ts';
export * from './ipset.ts';
export * from './names.ts';
export * from './backend.ts';
export * from './runner.ts';
export * from './apply.ts';
export * from './runner-node.ts';
export * from './probe.ts';
