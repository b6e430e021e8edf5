/**
 * @portico/iptables: the one kernel layer of Portico, pure half (no I/O; core libs may import it).
 *
 * - model.ts: the iptables model ({@link Table}, {@link RestoreTable}, {@link Rule}); ipset.ts: the
 *   ipset model ({@link IpsetSet}, {@link IpsetOp}).
 * - Text forms, as the tools print them back: restore-text.ts ({@link renderRestore},
 *   {@link renderSave}, {@link renderRuleWords}), ipset.ts ({@link renderIpsetRestore}).
 * - Parsers: save-parse.ts ({@link parseSave}), ipset.ts ({@link parseIpsetSave}).
 * - Names: names.ts ({@link hashedName}, {@link positionedRuleId}, {@link tmpSetName}).
 * - backend.ts: {@link decideBackend}, nft or legacy as a pure function of observed facts.
 * - runner.ts: the {@link Runner} port (its fakes are in `@portico/iptables/testing`).
 *
 * The I/O half (the real runners, probes, restore calls) is the separate entry point
 * `@portico/iptables/adapter`. See docs/iptables.md.
 */
export * from './model.ts';
export * from './tokens.ts';
export * from './restore-text.ts';
export * from './save-parse.ts';
export * from './ipset.ts';
export * from './names.ts';
export * from './backend.ts';
export * from './runner.ts';
export * from './arrays.ts';
export * from './limit-text.ts';
export * from './plan/index.ts';
