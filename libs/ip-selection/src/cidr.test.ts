import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { cidrContains, compareCIDR, hostCIDR, isAllAddresses, normalizeCIDR, parseCIDR, parseCIDRResult } from './cidr.ts';
import { parseIP } from './ip.ts';

const valid: { name: string; in: string; want: string; family: 'IPv4' | 'IPv6' }[] = [
  { name: 'host bits cleared (K3s example)', in: '10.0.0.1/8', want: '10.0.0.0/8', family: 'IPv4' },
  { name: 'IPv4 /32', in: '192.168.1.7/32', want: '192.168.1.7/32', family: 'IPv4' },
  { name: 'IPv4 /0', in: '1.2.3.4/0', want: '0.0.0.0/0', family: 'IPv4' },
  { name: 'non-octet prefix', in: '172.31.255.255/12', want: '172.16.0.0/12', family: 'IPv4' },
  { name: 'IPv4 /31', in: '10.0.0.3/31', want: '10.0.0.2/31', family: 'IPv4' },
  { name: 'IPv6 lower-cased and compressed', in: '2001:0DB8:0000::1/32', want: '2001:db8::/32', family: 'IPv6' },
  { name: 'IPv6 /0', in: '::/0', want: '::/0', family: 'IPv6' },
  { name: 'IPv6 /128', in: 'fd00::0001/128', want: 'fd00::1/128', family: 'IPv6' },
  { name: 'IPv6 odd prefix', in: 'fd00:ffff::/17', want: 'fd00:8000::/17', family: 'IPv6' },
  { name: 'IPv4-mapped block becomes IPv4 (Go parity)', in: '::ffff:10.1.2.3/104', want: '10.0.0.0/8', family: 'IPv4' },
  { name: 'all mapped addresses = all IPv4', in: '::ffff:0:0/96', want: '0.0.0.0/0', family: 'IPv4' },
  { name: 'prefix with a leading zero', in: '10.0.0.0/08', want: '10.0.0.0/8', family: 'IPv4' },
];

for (const c of valid) {
  test(`parseCIDR normalizes ${c.name}`, () => {
    const r = parseCIDR(c.in);
    assert.ok(r, `${c.in} should parse`);
    assert.equal(r.text, c.want);
    assert.equal(r.family, c.family);
    assert.equal(normalizeCIDR(c.in), c.want);
    assert.equal(parseCIDR(c.want)?.text, c.want, 'canonical text is a fixed point');
  });
}

const invalid: { name: string; in: string; reason: RegExp }[] = [
  { name: 'no prefix', in: '10.0.0.0', reason: /missing "\/prefix"/ },
  { name: 'empty', in: '', reason: /empty/ },
  { name: 'empty prefix', in: '10.0.0.0/', reason: /not a decimal/ },
  { name: 'IPv4 prefix 33', in: '10.0.0.0/33', reason: /longer than 32/ },
  { name: 'IPv6 prefix 129', in: '::/129', reason: /longer than 128/ },
  { name: 'negative prefix', in: '10.0.0.0/-1', reason: /not a decimal/ },
  { name: 'netmask notation', in: '10.0.0.0/255.0.0.0', reason: /not a decimal/ },
  { name: 'two slashes', in: '10.0.0.0/8/8', reason: /not a decimal/ },
  { name: 'bad address', in: '10.0.0.300/8', reason: /larger than 255/ },
  { name: 'zone', in: 'fe80::%eth0/64', reason: /zones/ },
  { name: 'mapped block shorter than /96', in: '::ffff:1.2.3.4/80', reason: /\/96 or longer/ },
  { name: 'mapped block over 128', in: '::ffff:1.2.3.4/129', reason: /longer than 128/ },
  { name: 'space inside', in: '10.0.0.0 /8', reason: /whitespace/ },
];

for (const c of invalid) {
  test(`parseCIDR rejects ${c.name}`, () => {
    const r = parseCIDRResult(c.in);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, c.reason);
    assert.equal(parseCIDR(c.in), undefined);
  });
}

const contains: { cidr: string; ip: string; want: boolean }[] = [
  { cidr: '10.0.0.0/8', ip: '10.255.0.1', want: true },
  { cidr: '10.0.0.0/8', ip: '11.0.0.0', want: false },
  { cidr: '0.0.0.0/0', ip: '203.0.113.9', want: true },
  { cidr: '0.0.0.0/0', ip: '::1', want: false },
  { cidr: '::/0', ip: '10.0.0.1', want: false },
  { cidr: '::/0', ip: '2001:db8::1', want: true },
  { cidr: '2001:db8::/32', ip: '2001:db9::1', want: false },
  { cidr: '10.0.0.0/8', ip: '::ffff:10.9.9.9', want: true },
  { cidr: '192.168.0.0/24', ip: '192.168.0.255', want: true },
  { cidr: '192.168.0.0/24', ip: '192.168.1.0', want: false },
];

for (const c of contains) {
  test(`cidrContains(${c.cidr}, ${c.ip}) is ${c.want}`, () => {
    assert.equal(cidrContains(parseCIDR(c.cidr)!, parseIP(c.ip)!), c.want);
  });
}

test('compareCIDR: IPv4 first, then address, then prefix', () => {
  const input = ['fd00::/8', '10.0.0.0/16', '10.0.0.0/8', '9.0.0.0/8', '::/0', '0.0.0.0/0', '10.0.0.0/24'];
  const got = input.map((s) => parseCIDR(s)!).sort(compareCIDR).map((c) => c.text);
  assert.deepEqual(got, ['0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '::/0', 'fd00::/8']);
});

test('hostCIDR and isAllAddresses', () => {
  assert.equal(hostCIDR(parseIP('10.1.2.3')!).text, '10.1.2.3/32');
  assert.equal(hostCIDR(parseIP('FD00::1')!).text, 'fd00::1/128');
  assert.equal(isAllAddresses(parseCIDR('::/0')!), true);
  assert.equal(isAllAddresses(parseCIDR('10.0.0.0/8')!), false);
});
