import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { ipBlockEntries } from './cidrset.ts';
import { clampComment, safeJoin } from './chains.ts';
import { checkNetpolConfig, limitBurstProblem, limitRateProblem, parseNodePortRange } from './config.ts';
import { canonicalIP, formatCIDR, parseCIDR, parseIP } from './ip.ts';
import { compileSelector } from './model.ts';
import { simulatePacket } from './simulate.ts';
import { limitRateText, ruleArgs, ruleLine, toIpsetText } from './text.ts';
import type { FamilyState, IpSetEntry, Rule } from './types.ts';

describe('ip', () => {
  it('parses and prints IPv4 and IPv6 canonically (RFC 5952, as ipset and iptables print)', () => {
    const table: [string, string | undefined][] = [
      ['10.42.0.1', '10.42.0.1'],
      ['2001:DB8:0:0::1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['fd00:0:0:1:0:0:0:0', 'fd00:0:0:1::'],
      ['::', '::'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
      ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
      ['010.0.0.1', undefined],
      ['256.0.0.1', undefined],
      ['1::2::3', undefined],
      ['fe80::1%eth0', undefined],
      ['', undefined],
    ];
    for (const [input, want] of table) assert.equal(canonicalIP(input), want, input);
  });
  it('parses CIDRs, clearing host bits; rejects bad prefixes', () => {
    assert.equal(formatCIDR(parseCIDR('10.42.1.7/16')!), '10.42.0.0/16');
    assert.equal(formatCIDR(parseCIDR('fd00:42:1::a/48')!), 'fd00:42:1::/48');
    assert.equal(formatCIDR(parseCIDR('fd00:42:1::a/32')!), 'fd00:42::/32');
    assert.equal(formatCIDR(parseCIDR('0.0.0.0/0')!), '0.0.0.0/0');
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0', '10.0.0.0/-1', 'x/8']) assert.equal(parseCIDR(bad), undefined, bad);
    assert.equal(parseIP('10.0.0.1')!.v6, false);
  });
});

describe('ipBlock set content (D3, D6)', () => {
  const p = (cidr: string, except: string[] = []): { cidr: ReturnType<typeof parseCIDR> & object; except: (ReturnType<typeof parseCIDR> & object)[] } => ({
    cidr: parseCIDR(cidr)!,
    except: except.map((e) => parseCIDR(e)!),
  });
  const table: [string, ReturnType<typeof p>[], IpSetEntry[]][] = [
    ['single block with except', [p('10.0.0.0/8', ['10.1.0.0/16'])], [{ addr: '10.0.0.0/8' }, { addr: '10.1.0.0/16', nomatch: true }]],
    ['host prefix printed without /32', [p('10.0.0.5/32')], [{ addr: '10.0.0.5' }]],
    ['v4 /0 split into halves, except kept', [p('0.0.0.0/0', ['10.0.0.0/8'])], [{ addr: '0.0.0.0/1' }, { addr: '10.0.0.0/8', nomatch: true }, { addr: '128.0.0.0/1' }]],
    ['v6 /0 split into halves', [p('::/0')], [{ addr: '::/1' }, { addr: '8000::/1' }]],
    ['NP-59: a second peer re-admits the except', [p('10.42.0.0/16', ['10.42.0.0/24']), p('10.42.0.0/23')], [{ addr: '10.42.0.0/16' }]],
    ['nested except inside a re-admitted range', [p('10.0.0.0/8', ['10.1.0.0/16']), p('10.1.0.0/17', ['10.1.0.0/24'])], [{ addr: '10.0.0.0/8' }, { addr: '10.1.0.0/16', nomatch: true }, { addr: '10.1.0.0/17' }, { addr: '10.1.0.0/24', nomatch: true }]],
    ['except of one peer inside another peer entirely', [p('10.0.0.0/16', ['10.0.1.0/24']), p('10.0.1.0/25')], [{ addr: '10.0.0.0/16' }, { addr: '10.0.1.0/24', nomatch: true }, { addr: '10.0.1.0/25' }]],
    ['fully excepted block yields only nomatch-free nothing', [p('10.0.0.0/24', ['10.0.0.0/25', '10.0.0.128/25'])], [{ addr: '10.0.0.0/24' }, { addr: '10.0.0.0/25', nomatch: true }, { addr: '10.0.0.128/25', nomatch: true }]],
  ];
  for (const [title, peers, want] of table) {
    it(title, () => assert.deepEqual(ipBlockEntries(peers), want));
  }
  it('the entries read back, by most specific prefix, exactly as the union of (cidr minus except)', () => {
    const peers = [p('10.0.0.0/16', ['10.0.1.0/24', '10.0.2.0/23']), p('10.0.2.0/24', ['10.0.2.128/25']), p('10.0.0.0/30')];
    const state: FamilyState = { family: 'IPv4', chains: [{ name: 'T', rules: [{ sets: [{ set: 'B', dir: 'src' }], target: { kind: 'ACCEPT' } }] }], builtinRules: [{ chain: 'INPUT', placement: 'first', rule: { target: { kind: 'jump', chain: 'T' } } }], ipsets: [{ name: 'B', type: 'hash:net', family: 'inet', entries: ipBlockEntries(peers) }] };
    for (let third = 0; third < 5; third++) {
      for (const last of [0, 1, 2, 3, 4, 127, 128, 255]) {
        const a = `10.0.${third}.${last}`;
        const ip = parseIP(a)!;
        const want = peers.some((x) => inside(ip, x.cidr) && !x.except.some((e) => inside(ip, e)));
        const got = simulatePacket(state, 'INPUT', { src: a, dst: '10.9.9.9', proto: 'tcp', dport: 1 }, []).verdict === 'accept';
        assert.equal(got, want, a);
      }
    }
  });
});

function inside(ip: { v6: boolean; value: bigint }, c: { v6: boolean; value: bigint; prefix: number }): boolean {
  const shift = BigInt((c.v6 ? 128 : 32) - c.prefix);
  return ip.v6 === c.v6 && ip.value >> shift === c.value >> shift;
}

describe('rule text equals iptables-save output', () => {
  // Expected lines were produced by iptables-save / ip6tables-save 1.8.9 (nf_tables) after restoring
  // the same rules in a scratch network namespace; the dataplane test re-checks this on the kernel.
  const table: [Rule, boolean, string][] = [
    [{ destination: '10.42.0.10/32', comment: 'from local node', addrType: { dir: 'src', type: 'LOCAL' }, target: { kind: 'ACCEPT' } }, false, '-A C -d 10.42.0.10/32 -m comment --comment "from local node" -m addrtype --src-type LOCAL -j ACCEPT'],
    [{ comment: 'x/a log-drop', mark: { value: 0x10000, mask: 0x10000, negate: true }, limit: { rate: '10/minute', burst: 10 }, target: { kind: 'NFLOG', group: 100 } }, false, '-A C -m comment --comment "x/a log-drop" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100'],
    [{ comment: 'x/a reject', mark: { value: 0x10000, mask: 0x10000, negate: true }, target: { kind: 'REJECT' } }, false, '-A C -m comment --comment "x/a reject" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable'],
    [{ target: { kind: 'MARK', value: 0, mask: 0x10000 } }, false, '-A C -j MARK --set-xmark 0x0/0x10000'],
    [{ protocol: 'sctp', dport: { from: 80, to: 90 }, target: { kind: 'RETURN' } }, false, '-A C -p sctp -m sctp --dport 80:90 -j RETURN'],
    [{ protocol: 'tcp', comment: 'allow LOCAL TCP traffic to node ports - LR7XO7NXDBGQJD2M', addrType: { dir: 'dst', type: 'LOCAL' }, multiportDports: { from: 30000, to: 32767 }, target: { kind: 'RETURN' } }, false, '-A C -p tcp -m comment --comment "allow LOCAL TCP traffic to node ports - LR7XO7NXDBGQJD2M" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN'],
    [{ destination: '10.42.0.10/32', physdevIsBridged: true, comment: 'x/a in', target: { kind: 'jump', chain: 'KUBE-POD-FW-X' } }, false, '-A C -d 10.42.0.10/32 -m physdev --physdev-is-bridged -m comment --comment "x/a in" -j KUBE-POD-FW-X'],
    [{ comment: 'nospace', target: { kind: 'NFLOG', group: 100, prefix: 'DROP by policy x/y' } }, false, '-A C -m comment --comment nospace -j NFLOG --nflog-prefix "DROP by policy x/y" --nflog-group 100'],
    [{ sets: [{ set: 'S1', dir: 'src' }, { set: 'S2', dir: 'dst', negate: true }], target: { kind: 'ACCEPT' } }, false, '-A C -m set --match-set S1 src -m set ! --match-set S2 dst -j ACCEPT'],
    [{ protocol: 'ipv6-icmp', comment: 'x', icmpType: 128, target: { kind: 'ACCEPT' } }, true, '-A C -p ipv6-icmp -m comment --comment x -m icmp6 --icmpv6-type 128 -j ACCEPT'],
    [{ source: 'fd00::1/128', destination: 'fd00::/8', target: { kind: 'REJECT' } }, true, '-A C -s fd00::1/128 -d fd00::/8 -j REJECT --reject-with icmp6-port-unreachable'],
    [{ limit: { rate: '10/hour', burst: 10 }, target: { kind: 'ACCEPT' } }, true, '-A C -m limit --limit 10/hour --limit-burst 10 -j ACCEPT'],
    [{ comment: 'a "quoted" thing', target: { kind: 'ACCEPT' } }, true, '-A C -m comment --comment "a \\"quoted\\" thing" -j ACCEPT'],
  ];
  for (const [rule, v6, want] of table) it(want, () => assert.equal(ruleLine('C', rule, v6), want));
  it('quoting (iptables-save 1.8.9: a comment is bare only when made of letters, digits, _ and -) and argument lists', () => {
    const comment = (c: string): string => ruleLine('C', { comment: c, target: { kind: 'ACCEPT' } }, false);
    assert.equal(comment('plain_word-1'), '-A C -m comment --comment plain_word-1 -j ACCEPT');
    assert.equal(comment('ns/name'), '-A C -m comment --comment "ns/name" -j ACCEPT');
    assert.equal(comment("it's"), `-A C -m comment --comment "it\\'s" -j ACCEPT`);
    assert.deepEqual(ruleArgs({ protocol: 'udp', dport: { from: 53 }, target: { kind: 'ACCEPT' } }), ['-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'ACCEPT']);
  });
  it('ipset text', () => {
    assert.equal(
      toIpsetText([{ name: 'inet6:KUBE-SRC-X', type: 'hash:net', family: 'inet6', entries: [{ addr: '::/1' }, { addr: 'fd00::/8', nomatch: true }] }]),
      'create inet6:KUBE-SRC-X hash:net family inet6 timeout 0\nadd inet6:KUBE-SRC-X ::/1 timeout 0\nadd inet6:KUBE-SRC-X fd00::/8 timeout 0 nomatch\n',
    );
  });
});

describe('comments and selectors', () => {
  it('clampComment strips control characters and keeps at most 120 bytes', () => {
    assert.equal(clampComment('ns/name in'), 'ns/name in');
    assert.equal(clampComment('a\nb\tc'), 'abc');
    assert.equal(Buffer.byteLength(clampComment('é'.repeat(100))), 120);
  });
  it('safeJoin keeps NFLOG prefixes within 48 characters', () => {
    assert.equal(safeJoin('x', 'y'), 'x/y');
    assert.equal(safeJoin('a'.repeat(30), 'b'.repeat(30)), `${'a'.repeat(23)}/${'b'.repeat(23)}`);
    assert.equal(safeJoin('ns', 'p'.repeat(60)).length, 48);
    assert.ok(safeJoin('n'.repeat(60), 'p').length <= 48);
  });
  it('equivalent selectors compile to one key; different ones do not', () => {
    const a = compileSelector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['y', 'x', 'x'] }] });
    const b = compileSelector({ matchLabels: { a: '1', b: '2' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['x', 'y'] }] });
    assert.equal(a.key, b.key);
    assert.notEqual(a.key, compileSelector({ matchLabels: { a: '1' } }).key);
    assert.ok(compileSelector({}).all && compileSelector(null).all);
  });
});

describe('config checks', () => {
  it('one problem per bad value, naming the field and the value', () => {
    const problems = checkNetpolConfig({
      nodeName: '',
      families: ['IPv5' as never],
      serviceCIDRs: ['10.43.0.0/16', '10.43.0.0'],
      podCIDRs: ['nope'],
      nodePortRange: '32767-30000',
      nflog: { group: 70000, limit: '10/fortnight', burst: 0 },
    });
    assert.deepEqual(
      problems.map((p) => [p.reason, p.field, p.value]),
      [
        ['InvalidConfig', 'nodeName', ''],
        ['InvalidConfig', 'families', 'IPv5'],
        ['InvalidConfig', 'serviceCIDRs[1]', '10.43.0.0'],
        ['InvalidConfig', 'podCIDRs[0]', 'nope'],
        ['InvalidConfig', 'nodePortRange', '32767-30000'],
        ['InvalidConfig', 'nflog.group', '70000'],
        ['InvalidConfig', 'nflog.limit', '10/fortnight'],
        ['InvalidConfig', 'nflog.burst', '0'],
      ],
    );
    assert.deepEqual(checkNetpolConfig({ nodeName: 'n1', families: ['IPv4', 'IPv6'], nodePortRange: '30000:32767', serviceCIDRs: ['fd00::/112'] }), []);
  });
  it('NFLOG rates and bursts iptables would refuse are problems (Rate too fast, burst above 10000)', () => {
    const problems = checkNetpolConfig({ nodeName: 'n1', nflog: { limit: '50000/second', burst: 10001 } });
    assert.deepEqual(
      problems.map((p) => [p.field, p.value, p.message]),
      [
        ['nflog.limit', '50000/second', 'iptables rejects more than 10000/second ("Rate too fast"): at most 10000/second'],
        ['nflog.burst', '10001', 'iptables accepts at most 10000'],
      ],
    );
    assert.deepEqual(checkNetpolConfig({ nodeName: 'n1', nflog: { limit: '600000/minute', burst: 10000 } }), []);
  });
  it('limit rates: the boundary of each unit, as iptables 1.8.9 checks it', () => {
    const table: [number, 'second' | 'minute' | 'hour' | 'day', boolean][] = [
      [1, 'second', true],
      [10000, 'second', true],
      [10001, 'second', false],
      [50000, 'second', false],
      [600000, 'minute', true],
      [600001, 'minute', false],
      [36000000, 'hour', true],
      [36000001, 'hour', false],
      [864000000, 'day', true],
      [864000001, 'day', false],
      [0, 'second', false],
    ];
    for (const [n, unit, ok] of table) assert.equal(limitRateProblem(n, unit) === undefined, ok, `${n}/${unit}`);
    for (const [b, ok] of [[1, true], [10000, true], [10001, false], [0, false], [1.5, false]] as const) assert.equal(limitBurstProblem(b) === undefined, ok, `burst ${b}`);
  });
  it('limit rates print as iptables-save prints them (checked against iptables 1.8.9 nf_tables)', () => {
    const table: [string, string][] = [
      ['10/minute', '10/min'],
      ['60/minute', '1/sec'],
      ['120/minute', '2/sec'],
      ['600000/minute', '10000/sec'],
      ['864000000/day', '10000/sec'],
      ['10000/second', '10000/sec'],
      ['25/second', '25/sec'],
      ['5/s', '5/sec'],
      ['60/m', '1/sec'],
      ['7/hour', '7/hour'],
      ['1/day', '1/day'],
      ['3', '3/sec'],
      ['50000/second', '50000/second'], // refused by iptables: left as it is
    ];
    for (const [rate, want] of table) assert.equal(limitRateText(rate), want, rate);
    const rule = (burst: number): Rule => ({ limit: { rate: '60/minute', burst }, target: { kind: 'NFLOG', group: 100 } });
    assert.equal(ruleArgs(rule(5)).join(' '), '-m limit --limit 1/sec -j NFLOG --nflog-group 100', 'burst 5 is the default and not printed');
    assert.equal(ruleArgs(rule(6)).join(' '), '-m limit --limit 1/sec --limit-burst 6 -j NFLOG --nflog-group 100');
  });
  it('node-port ranges: a-b or a:b with a < b', () => {
    assert.deepEqual(parseNodePortRange('30000-32767'), { from: 30000, to: 32767 });
    assert.deepEqual(parseNodePortRange('30000:32767'), { from: 30000, to: 32767 });
    for (const bad of ['30000', '5-5', '0-10', '1-70000', 'a-b']) assert.equal(parseNodePortRange(bad), undefined, bad);
  });
});
