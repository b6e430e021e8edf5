import type { IPAddress, IPFamily } from '@portico/ip-selection';
import { findChain, findTable, renderRestore, ruleTarget, type RestoreOp, type RestoreTable, type Rule, type Ruleset, type TableName } from '@portico/iptables';
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
 * Every apply declares the three chains (`:NAME - [0:0]` flushes and refills them atomically under
 * `iptables-restore --noflush`) and inserts a jump only when the built-in chain lacks it, so a
 * restart in the same namespace leaves exactly the same rules (idempotent). Both tables go in one
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

function sameRule(a: Rule, b: Rule): boolean {
  return a.comment === b.comment && a.args.length === b.args.length && a.args.every((x, i) => x === b.args[i]);
}

/**
 * The restore input for `family` given what the namespace holds now (`existing`, parsed
 * `iptables-save`; `undefined` or empty for a fresh namespace): own chains declared and refilled;
 * a jump inserted at position 1 only where the built-in chain has none; extra or outdated jumps to
 * an own chain (a duplicate, an older comment) deleted.
 */
export function planRestore(cfg: ForwarderConfig, family: IPFamily, existing?: Ruleset): RestoreTable[] {
  const { nat, filter } = chainRules(cfg, family);
  const extra: Record<'nat' | 'filter', RestoreOp[]> = { nat: [], filter: [] };
  for (const j of jumps(cfg)) {
    const target = ruleTarget(j.rule);
    const current = findChain(existing ? findTable(existing, j.table) : undefined, j.from)?.rules.filter((r) => ruleTarget(r) === target) ?? [];
    let kept = false;
    for (const r of current) {
      if (!kept && sameRule(r, j.rule)) {
        kept = true;
        continue;
      }
      extra[j.table as 'nat' | 'filter'].push({ kind: 'delete', chain: j.from, rule: { args: r.args, ...(r.comment !== undefined ? { comment: r.comment } : {}) } });
    }
    if (!kept) extra[j.table as 'nat' | 'filter'].push({ kind: 'insert', chain: j.from, position: 1, rule: j.rule });
  }
  return [
    { ...nat, ops: [...nat.ops, ...extra.nat] },
    { ...filter, ops: [...filter.ops, ...extra.filter] },
  ];
}

/** Number of rules (appends and inserts) a plan writes; for logs. */
export function ruleCount(tables: readonly RestoreTable[]): number {
  return tables.reduce((n, t) => n + t.ops.filter((o) => o.kind === 'append' || o.kind === 'insert').length, 0);
}

/** The restore input text of a plan. */
export function planText(tables: readonly RestoreTable[]): string {
  return renderRestore(tables);
}
