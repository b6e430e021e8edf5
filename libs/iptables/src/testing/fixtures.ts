// Shared inputs of the unit tests (golden files) and the T1 tests (the same text applied to a real
// kernel in a throwaway network namespace). Served by @portico/iptables/testing.
import { Netpol } from '@portico/labels';
import { commentMatch, type RestoreTable } from '../model.ts';
import { memberOf, setOptions, type IpsetOp } from '../ipset.ts';
import { hashedName, tmpSetName, withPositionedRuleId } from '../names.ts';

const podChain = hashedName(Netpol.podChainPrefix, 'x' + 'a' + '1');
const jump = withPositionedRuleId('FORWARD', [...commentMatch(`${Netpol.jumpCommentPrefix}`), '-j', Netpol.forwardChain]);

/** A filter block for an empty namespace: kube-router-like chains, a positioned jump, odd comments. */
export const filterFresh: RestoreTable = {
  table: 'filter',
  chains: [{ name: Netpol.forwardChain }, { name: podChain }, { name: 'PORTICO-TEST' }],
  ops: [
    { kind: 'append', chain: podChain, rule: { comment: 'common netpol rules', args: ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'] } },
    { kind: 'append', chain: podChain, rule: { comment: 'from local node', args: ['-d', '10.42.0.10/32', '-m', 'addrtype', '--src-type', 'LOCAL', '-j', 'ACCEPT'] } },
    { kind: 'append', chain: podChain, rule: { comment: 'x/a reject', args: ['-m', 'mark', '!', '--mark', '0x10000/0x10000', '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'] } },
    { kind: 'append', chain: podChain, rule: { args: ['-j', 'MARK', '--set-xmark', '0x0/0x10000'] } },
    { kind: 'append', chain: Netpol.forwardChain, rule: { comment: 'x/a in', args: ['-d', '10.42.0.10/32', '-j', podChain] } },
    { kind: 'append', chain: Netpol.forwardChain, rule: { comment: 'x/a out', args: ['-s', '10.42.0.10/32', '-j', podChain] } },
    { kind: 'append', chain: 'PORTICO-TEST', rule: { comment: 'quotes "inside" and a \\ backslash', args: ['-p', 'tcp', '-m', 'tcp', '--dport', '8080', '-j', 'ACCEPT'] } },
    { kind: 'append', chain: 'PORTICO-TEST', rule: { args: ['!', '-s', '192.168.0.0/16', '-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'LOG', '--log-prefix', 'dns drop: '] } },
    { kind: 'insert', chain: 'FORWARD', position: 1, rule: { args: jump.args } },
  ],
};

/** Applied after {@link filterFresh}: re-fills one chain, removes the jump and the test chain. */
export const filterUpdate: RestoreTable = {
  table: 'filter',
  chains: [{ name: 'FORWARD', policy: 'DROP' }, { name: Netpol.forwardChain }],
  ops: [
    { kind: 'append', chain: Netpol.forwardChain, rule: { comment: 'x/a in', args: ['-d', '10.42.0.10/32', '-j', podChain] } },
    { kind: 'delete', chain: 'FORWARD', rule: { args: jump.args } },
    { kind: 'flush', chain: 'PORTICO-TEST' },
    { kind: 'deleteChain', chain: 'PORTICO-TEST' },
  ],
};

/** A nat block like the forwarder's. */
export const natForwarder: RestoreTable = {
  table: 'nat',
  chains: [{ name: 'PORTICO-DNAT' }, { name: 'PORTICO-MASQ' }],
  ops: [
    { kind: 'append', chain: 'PORTICO-DNAT', rule: { args: ['-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', '10.43.0.10:8080'] } },
    { kind: 'append', chain: 'PORTICO-MASQ', rule: { args: ['-d', '10.43.0.10/32', '-p', 'tcp', '-j', 'MASQUERADE'] } },
    { kind: 'insert', chain: 'PREROUTING', rule: { comment: 'portico test', args: ['-j', 'PORTICO-DNAT'] } },
    { kind: 'insert', chain: 'POSTROUTING', rule: { args: ['-j', 'PORTICO-MASQ'] } },
  ],
};

/** The IPv6 twin of {@link natForwarder}. */
export const natForwarder6: RestoreTable = {
  table: 'nat',
  chains: [{ name: 'PORTICO-DNAT' }, { name: 'PORTICO-MASQ' }],
  ops: [
    { kind: 'append', chain: 'PORTICO-DNAT', rule: { args: ['-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '[fd00:43::10]:5353'] } },
    { kind: 'append', chain: 'PORTICO-MASQ', rule: { args: ['-d', 'fd00:43::10/128', '-p', 'udp', '-j', 'MASQUERADE'] } },
    { kind: 'insert', chain: 'PREROUTING', rule: { args: ['-j', 'PORTICO-DNAT'] } },
  ],
};

const v4opts = setOptions({ timeout: 0 });
const tmp = tmpSetName('KUBE-DST-MDEC3MZ655UIVZJP');

/** Sets for an empty namespace: kube-router style names, options, timeout 0, nomatch, comment. */
export const ipsetFresh: IpsetOp[] = [
  { kind: 'create', set: 'KUBE-DST-MDEC3MZ655UIVZJP', type: 'hash:ip', options: v4opts },
  { kind: 'add', set: 'KUBE-DST-MDEC3MZ655UIVZJP', member: memberOf('10.42.0.10', { timeout: 0 }) },
  { kind: 'add', set: 'KUBE-DST-MDEC3MZ655UIVZJP', member: memberOf('10.42.0.11', { timeout: 0 }) },
  { kind: 'create', set: 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY', type: 'hash:net', options: setOptions({ family: 'inet6', timeout: 0, comment: true }) },
  { kind: 'add', set: 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY', member: memberOf('fd00::/8', { timeout: 0 }) },
  { kind: 'add', set: 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY', member: memberOf('fd00:1::/32', { timeout: 0, nomatch: true, comment: 'except block' }) },
];

/** Replaces the IPv4 set's members through its TMP set and swap. */
export const ipsetSwap: IpsetOp[] = [
  { kind: 'create', set: tmp, type: 'hash:ip', options: v4opts },
  { kind: 'flush', set: tmp },
  { kind: 'add', set: tmp, member: memberOf('10.42.0.12', { timeout: 0 }) },
  { kind: 'swap', set: tmp, other: 'KUBE-DST-MDEC3MZ655UIVZJP' },
  { kind: 'flush', set: tmp },
  { kind: 'destroy', set: tmp },
];
