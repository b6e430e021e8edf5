import type { IPAddress, IPFamily } from '@portico/ip-selection';
import {
  commentMatch,
  KernelPlanner,
  parseObservedTable,
  renderRuleWords,
  type DesiredChain,
  type DesiredFamily,
  type Ownership,
  type RestoreOp,
  type RestoreTable,
  type Rule,
  type TableName,
} from '@portico/iptables';
import type { ForwarderConfig } from './config.ts';

/**
 * The forwarder's rules for one IP family, as an iptables model (pure).
 *
 * klipper-lb (spec §7.2) adds rules straight into the built-in chains with `iptables -I/-A`, one
 * command at a time, and adds them **again** when a container restarts in the same pod. Portico
 * keeps the same packet semantics but owns three chains per container, named after its protocol
 * and `SRC_PORT` (the containers of one svclb pod share a network namespace, one per Service port):
 *
 * | table  | chain                          | jumped from            | rules |
 * |--------|--------------------------------|------------------------|-------|
 * | nat    | `PORTICO-LB-DNAT-<PROTO>-<SRC_PORT>` | PREROUTING, position 1 | `-p proto --dport SRC_PORT -j DNAT --to-destination D:DEST_PORT` per destination |
 * | nat    | `PORTICO-LB-MASQ-<PROTO>-<SRC_PORT>` | POSTROUTING, position 1 | `-d D -p proto -j MASQUERADE` per destination |
 * | filter | `PORTICO-LB-FWD-<PROTO>-<SRC_PORT>`  | FORWARD, position 1    | `-s R -p proto --dport DEST_PORT -j ACCEPT` per source range, then `-d D -p proto --dport DEST_PORT -j DROP` per destination |
 *
 * The kernel layer's planner (@portico/iptables, docs/iptables.md) turns these chains and jumps plus
 * what the namespace holds into the change: a chain whose rules differ is re-declared (`:NAME - [0:0]`
 * flushes and refills it atomically under `iptables-restore --noflush`), a jump missing from position
 * 1 is (re)inserted there, duplicate or outdated jumps to an own chain are deleted, and a restart in
 * the same namespace with the same configuration writes nothing (idempotent). Both tables go in one
 * restore per family.
 *
 * Order within a chain follows what klipper-lb ends up with: its DNAT and MASQUERADE rules are
 * inserted with `-I` (so the last destination of a family comes first), its ACCEPT rules too (order
 * irrelevant: all ACCEPT; Portico lists them sorted), its DROP rules appended. A source range of
 * `/0` renders without `-s`, as iptables-save prints it.
 */

export interface ChainNames {
  readonly dnat: string;
  readonly masq: string;
  readonly forward: string;
}

/** The chains this container owns (same names in iptables and ip6tables). */
export function chainNames(cfg: Pick<ForwarderConfig, 'protocol' | 'srcPort'>): ChainNames {
  const id = `${cfg.protocol}-${cfg.srcPort}`;
  return { dnat: `PORTICO-LB-DNAT-${id}`, masq: `PORTICO-LB-MASQ-${id}`, forward: `PORTICO-LB-FWD-${id}` };
}

/** The comment on this container's jumps, e.g. `lb-forwarder TCP/80`. */
export function jumpComment(cfg: Pick<ForwarderConfig, 'protocol' | 'srcPort'>): string {
  return `lb-forwarder ${cfg.protocol}/${cfg.srcPort}`;
}

interface Jump {
  readonly table: TableName;
  readonly from: string;
  readonly rule: Rule;
}

function jumps(cfg: ForwarderConfig): Jump[] {
  const n = chainNames(cfg);
  const comment = jumpComment(cfg);
  return [
    { table: 'nat', from: 'PREROUTING', rule: { comment, args: ['-j', n.dnat] } },
    { table: 'nat', from: 'POSTROUTING', rule: { comment, args: ['-j', n.masq] } },
    { table: 'filter', from: 'FORWARD', rule: { comment, args: ['-j', n.forward] } },
  ];
}

function destination(ip: IPAddress, port: number): string {
  return ip.family === 'IPv6' ? `[${ip.text}]:${port}` : `${ip.text}:${port}`;
}

function hostBlock(ip: IPAddress): string {
  return `${ip.text}/${ip.family === 'IPv4' ? 32 : 128}`;
}

/** The destinations of `family`, or none. */
export function destinationsOf(cfg: ForwarderConfig, family: IPFamily): IPAddress[] {
  return cfg.destIPs.filter((ip) => ip.family === family);
}

/** The families `DEST_IPS` asks for, IPv4 first. */
export function familiesOf(cfg: ForwarderConfig): IPFamily[] {
  return (['IPv4', 'IPv6'] as const).filter((f) => cfg.destIPs.some((ip) => ip.family === f));
}

/** The rules of this container's own chains for `family` (no jumps): nat and filter blocks. */
export function chainRules(cfg: ForwarderConfig, family: IPFamily): { readonly nat: RestoreTable; readonly filter: RestoreTable } {
  const n = chainNames(cfg);
  const p = cfg.protocol.toLowerCase();
  const dests = destinationsOf(cfg, family);
  const reversed = [...dests].reverse(); // klipper-lb inserts each with -I
  const ranges = cfg.srcRanges.filter((r) => r.family === family);
  const portMatch = (port: number): string[] => ['-p', p, '-m', p, '--dport', String(port)];
  const natOps: RestoreOp[] = [
    ...reversed.map((d): RestoreOp => ({ kind: 'append', chain: n.dnat, rule: { args: [...portMatch(cfg.srcPort), '-j', 'DNAT', '--to-destination', destination(d, cfg.destPort)] } })),
    ...reversed.map((d): RestoreOp => ({ kind: 'append', chain: n.masq, rule: { args: ['-d', hostBlock(d), '-p', p, '-j', 'MASQUERADE'] } })),
  ];
  const filterOps: RestoreOp[] = [
    ...ranges.map((r): RestoreOp => ({ kind: 'append', chain: n.forward, rule: { args: [...(r.prefix === 0 ? [] : ['-s', r.text]), ...portMatch(cfg.destPort), '-j', 'ACCEPT'] } })),
    ...dests.map((d): RestoreOp => ({ kind: 'append', chain: n.forward, rule: { args: ['-d', hostBlock(d), ...portMatch(cfg.destPort), '-j', 'DROP'] } })),
  ];
  return {
    nat: { table: 'nat', chains: [{ name: n.dnat }, { name: n.masq }], ops: natOps },
    filter: { table: 'filter', chains: [{ name: n.forward }], ops: filterOps },
  };
}

/**
 * What this container owns in `table`: its chains there, and every rule of a built-in chain that
 * jumps to one of them (its own jumps carry its comment; a duplicate or an older one is replaced).
 */
function ownership(cfg: ForwarderConfig, table: 'nat' | 'filter'): Ownership {
  const n = chainNames(cfg);
  const own = table === 'nat' ? [n.dnat, n.masq] : [n.forward];
  const marker = renderRuleWords({ args: commentMatch(jumpComment(cfg)) });
  return { table, ownsChain: (c) => own.includes(c), ownsSet: () => false, builtinMarker: marker, afterMarker: marker, jumpsAreOwned: true };
}

/** The desired chains and jumps of `table` for the planner. */
function desiredOf(cfg: ForwarderConfig, family: IPFamily, block: RestoreTable): DesiredFamily {
  const chains: DesiredChain[] = block.chains.map((c) => ({ name: c.name, rules: block.ops.flatMap((o) => (o.kind === 'append' && o.chain === c.name ? [o.rule] : [])) }));
  const builtinRules = jumps(cfg)
    .filter((j) => j.table === block.table)
    .map((j) => ({ chain: j.from, placement: 'first' as const, rule: j.rule }));
  return { family, ipsets: [], chains, builtinRules };
}

/**
 * The restore input for `family` given what the namespace holds now (`existing`, the text of
 * `iptables-save`; `undefined` or empty for a fresh namespace), from the kernel layer's planner: ''
 * when the namespace already holds exactly these chains and jumps.
 */
export function planRestore(cfg: ForwarderConfig, family: IPFamily, existing?: string): string {
  const blocks = chainRules(cfg, family);
  let out = '';
  for (const table of ['nat', 'filter'] as const) {
    const observed = { family, table: parseObservedTable(existing ?? '', 'iptables-save', table), sets: new Map() };
    out += new KernelPlanner(ownership(cfg, table)).plan(desiredOf(cfg, family, blocks[table]), observed).iptables;
  }
  return out;
}
