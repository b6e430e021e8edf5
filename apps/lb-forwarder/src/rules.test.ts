import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { expectGolden } from '@portico/testing';
import { renderRestore, renderSave, type Table } from '@portico/iptables';
import { parseForwarderEnv, type ForwarderConfig } from './config.ts';
import { chainNames, chainRules, familiesOf, jumpComment, planRestore } from './rules.ts';

const golden = (name: string): string => join(import.meta.dirname, '..', 'testdata', `${name}.golden`);

function cfg(env: Record<string, string>): ForwarderConfig {
  const r = parseForwarderEnv(env);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

const cases: { name: string; env: Record<string, string> }[] = [
  { name: 'cluster-tcp-ipv4', env: { SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10' } },
  { name: 'cluster-udp-dualstack', env: { SRC_PORT: '53', SRC_RANGES: '0.0.0.0/0,::/0', DEST_PROTO: 'UDP', DEST_PORT: '53', DEST_IPS: '10.43.0.10,fd00:43::10' } },
  { name: 'local-tcp-ranges', env: { SRC_PORT: '443', SRC_RANGES: '192.168.0.0/16,10.0.0.0/8,2001:db8::/32', DEST_PROTO: 'TCP', DEST_PORT: '30443', DEST_IPS: '192.168.1.5,2001:db8::5' } },
  { name: 'sctp-ipv6-two-destinations', env: { SRC_PORT: '9999', SRC_RANGES: '::/0', DEST_PROTO: 'SCTP', DEST_PORT: '9999', DEST_IPS: 'fd00:43::10,fd00:43::11' } },
];

for (const c of cases) {
  test(`rules for a fresh namespace match golden ${c.name}`, () => {
    const conf = cfg(c.env);
    const text = familiesOf(conf).map((f) => `# ${f}\n${planRestore(conf, f)}`).join('');
    expectGolden(golden(c.name), text);
  });
}

test('chain names fit iptables (28 characters) for the longest protocol and port', () => {
  const n = chainNames({ protocol: 'SCTP', srcPort: 65535 });
  assert.deepEqual(n, { dnat: 'PORTICO-LB-DNAT-SCTP-65535', masq: 'PORTICO-LB-MASQ-SCTP-65535', forward: 'PORTICO-LB-FWD-SCTP-65535' });
  for (const name of Object.values(n)) assert.ok(name.length <= 28, name);
});

test('two destinations of one family: the last one is matched first (klipper-lb inserts each with -I)', () => {
  const { nat, filter } = chainRules(cfg(cases[3]!.env), 'IPv6');
  assert.match(renderRestore([nat]), /--to-destination \[fd00:43::11\]:9999\n.*--to-destination \[fd00:43::10\]:9999/);
  assert.match(renderRestore([filter]), /-d fd00:43::10\/128 .* -j DROP\n.*-d fd00:43::11\/128 .* -j DROP/, 'DROP rules appended in list order');
});

/** What iptables-save shows after a fresh apply (nat + filter): own chains filled, jumps at position 1. */
function stateAfterFresh(conf: ForwarderConfig): string {
  const n = chainNames(conf);
  const comment = jumpComment(conf);
  const jumpTo = (chain: string): { comment: string; args: string[] } => ({ comment, args: ['-j', chain] });
  const { nat, filter } = chainRules(conf, 'IPv4');
  const tables: Table[] = [];
  for (const [t, jumps] of [[nat, { PREROUTING: n.dnat, POSTROUTING: n.masq }], [filter, { FORWARD: n.forward }]] as const) {
    const builtins = t.table === 'nat' ? ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] : ['INPUT', 'FORWARD', 'OUTPUT'];
    tables.push({
      name: t.table,
      chains: [
        ...builtins.map((name) => ({ name, policy: 'ACCEPT' as const, rules: name in jumps ? [jumpTo((jumps as Record<string, string>)[name]!)] : [] })),
        ...t.chains.map((c) => ({ name: c.name, rules: t.ops.flatMap((o) => (o.kind === 'append' && o.chain === c.name ? [o.rule] : [])) })),
      ],
    });
  }
  return renderSave(tables);
}

test('re-planning on the state a first apply left writes nothing (the planner finds every chain and jump in place)', () => {
  const conf = cfg(cases[0]!.env);
  assert.equal(planRestore(conf, 'IPv4', stateAfterFresh(conf)), '');
});

test('a chain someone emptied is refilled, and only that chain', () => {
  const conf = cfg(cases[0]!.env);
  const state = stateAfterFresh(conf).replace(/^-A PORTICO-LB-FWD-TCP-80 .*\n/gm, '');
  const again = planRestore(conf, 'IPv4', state);
  assert.deepEqual(
    again.split('\n').filter((l) => /^[-:]/.test(l)),
    [':PORTICO-LB-FWD-TCP-80 - [0:0]', '-A PORTICO-LB-FWD-TCP-80 -p tcp -m tcp --dport 80 -j ACCEPT', '-A PORTICO-LB-FWD-TCP-80 -d 10.43.0.10/32 -p tcp -m tcp --dport 80 -j DROP'],
  );
});

test('duplicate or outdated jumps (an older comment, a klipper-like duplicate) are deleted, one kept', () => {
  const conf = cfg(cases[0]!.env);
  const state = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PORTICO-LB-DNAT-TCP-80 - [0:0]
:PORTICO-LB-MASQ-TCP-80 - [0:0]
:OTHER - [0:0]
-A PREROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80
-A PREROUTING -j OTHER
-A PREROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80
-A POSTROUTING -m comment --comment "old text" -j PORTICO-LB-MASQ-TCP-80
COMMIT
`;
  const nat = planRestore(conf, 'IPv4', state).split('COMMIT')[0]!;
  const tail = nat.split('\n').filter((l) => /^-[ID] /.test(l));
  // Every jump to an own chain is the container's: all are deleted, one is inserted at position 1.
  assert.deepEqual(tail, [
    '-D PREROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80',
    '-D PREROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80',
    '-I PREROUTING 1 -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80',
    '-D POSTROUTING -m comment --comment "old text" -j PORTICO-LB-MASQ-TCP-80',
    '-I POSTROUTING 1 -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-MASQ-TCP-80',
  ]);
});

test('other containers of the same pod are not touched (their chains and jumps stay)', () => {
  const tcp = cfg(cases[0]!.env);
  const udp = cfg({ ...cases[0]!.env, DEST_PROTO: 'UDP' });
  const afterTcp = stateAfterFresh(tcp);
  const planUdp = planRestore(udp, 'IPv4', afterTcp);
  assert.doesNotMatch(planUdp, /TCP-80/);
  assert.match(planUdp, /^-I PREROUTING 1 .*-j PORTICO-LB-DNAT-UDP-80$/m);
});

test('a range of the other family is not used; /0 renders without -s', () => {
  const conf = cfg({ SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0,fd00::/8', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10,fd00:43::10' });
  const v4 = renderRestore([chainRules(conf, 'IPv4').filter]);
  const v6 = renderRestore([chainRules(conf, 'IPv6').filter]);
  assert.match(v4, /^-A PORTICO-LB-FWD-TCP-80 -p tcp -m tcp --dport 80 -j ACCEPT$/m);
  assert.doesNotMatch(v4, /fd00::\/8/);
  assert.match(v6, /^-A PORTICO-LB-FWD-TCP-80 -s fd00::\/8 -p tcp -m tcp --dport 80 -j ACCEPT$/m);
});
