import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { parseForwarderEnv } from './config.ts';

const good = { SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10' };

test('the K3s environment of a Cluster Service parses', () => {
  const r = parseForwarderEnv(good);
  assert.ok(r.ok);
  assert.equal(r.config.srcPort, 80);
  assert.equal(r.config.destPort, 80);
  assert.equal(r.config.protocol, 'TCP');
  assert.deepEqual(r.config.srcRanges.map((c) => c.text), ['0.0.0.0/0']);
  assert.deepEqual(r.config.destIPs.map((i) => i.text), ['10.43.0.10']);
});

test('dual-stack, lower-case protocol, spaces, unsorted and duplicate ranges, duplicate IPs', () => {
  const r = parseForwarderEnv({ SRC_PORT: ' 53 ', SRC_RANGES: 'fd00::1/8, 10.0.0.1/8,0.0.0.0/0 ,::/0,10.0.0.0/8', DEST_PROTO: 'udp', DEST_PORT: '30053', DEST_IPS: 'FD00:43::A, 10.43.0.10,fd00:43::a' });
  assert.ok(r.ok);
  assert.equal(r.config.protocol, 'UDP');
  assert.equal(r.config.srcPort, 53);
  assert.deepEqual(r.config.srcRanges.map((c) => c.text), ['0.0.0.0/0', '10.0.0.0/8', '::/0', 'fd00::/8']);
  assert.deepEqual(r.config.destIPs.map((i) => i.text), ['fd00:43::a', '10.43.0.10'], 'DEST_IPS order kept, duplicates dropped');
});

test('SCTP and the port bounds are accepted', () => {
  const r = parseForwarderEnv({ ...good, DEST_PROTO: 'Sctp', SRC_PORT: '1', DEST_PORT: '65535' });
  assert.ok(r.ok);
  assert.equal(r.config.protocol, 'SCTP');
});

const bad: { name: string; env: Record<string, string | undefined>; issues: [string, string, RegExp][] }[] = [
  { name: 'everything missing', env: {}, issues: [['SRC_PORT', '', /required/], ['SRC_RANGES', '', /required/], ['DEST_PROTO', '', /one of TCP, UDP, SCTP/], ['DEST_PORT', '', /required/], ['DEST_IPS', '', /required/]] },
  { name: 'port out of range', env: { ...good, SRC_PORT: '65536' }, issues: [['SRC_PORT', '65536', /1-65535/]] },
  { name: 'SRC_PORT 0', env: { ...good, SRC_PORT: '0' }, issues: [['SRC_PORT', '0', /1-65535/]] },
  { name: 'DEST_PORT 0 (ETP Local, no node ports) is refused with its own reason', env: { ...good, DEST_PORT: '0' }, issues: [['DEST_PORT', '0', /port 0 cannot be forwarded to.*allocateLoadBalancerNodePorts/]] },
  { name: 'negative port', env: { ...good, DEST_PORT: '-1' }, issues: [['DEST_PORT', '-1', /port number/]] },
  { name: 'port with a unit', env: { ...good, DEST_PORT: '80/tcp' }, issues: [['DEST_PORT', '80/tcp', /port number/]] },
  { name: 'unknown protocol', env: { ...good, DEST_PROTO: 'ICMP' }, issues: [['DEST_PROTO', 'ICMP', /one of TCP, UDP, SCTP/]] },
  { name: 'blank DEST_IPS', env: { ...good, DEST_IPS: ' ' }, issues: [['DEST_IPS', ' ', /required/]] },
  { name: 'malformed IP among good ones', env: { ...good, DEST_IPS: '10.43.0.10,10.43.0.300' }, issues: [['DEST_IPS', '10.43.0.300', /larger than 255/]] },
  { name: 'a hostname', env: { ...good, DEST_IPS: 'kubernetes.default' }, issues: [['DEST_IPS', 'kubernetes.default', /not an IP address/]] },
  { name: 'a stray comma in DEST_IPS', env: { ...good, DEST_IPS: '10.43.0.10,' }, issues: [['DEST_IPS', '', /empty/]] },
  { name: 'an IPv6 zone', env: { ...good, DEST_IPS: 'fe80::1%eth0' }, issues: [['DEST_IPS', 'fe80::1%eth0', /zones/]] },
  { name: 'empty SRC_RANGES (klipper-lb would drop everything)', env: { ...good, SRC_RANGES: '' }, issues: [['SRC_RANGES', '', /required/]] },
  { name: 'malformed CIDR', env: { ...good, SRC_RANGES: '10.0.0.0/8,192.168.0.0/33' }, issues: [['SRC_RANGES', '192.168.0.0/33', /longer than 32/]] },
  { name: 'an address without a prefix', env: { ...good, SRC_RANGES: '10.0.0.1' }, issues: [['SRC_RANGES', '10.0.0.1', /prefix/]] },
];

for (const c of bad) {
  test(`bad input: ${c.name} → one issue per problem naming variable and value`, () => {
    const r = parseForwarderEnv(c.env);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.issues.map((i) => [i.field, i.value]), c.issues.map(([f, v]) => [f, v]));
    r.issues.forEach((i, n) => assert.match(i.reason, c.issues[n]![2]));
  });
}
