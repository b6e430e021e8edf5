import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { canonicalIP, compareIP, formatIPBytes, ipFamilyOf, parseIP, parseIPResult } from './ip.ts';

const valid: { name: string; in: string; family: 'IPv4' | 'IPv6'; text: string; mapped?: boolean }[] = [
  { name: 'plain IPv4', in: '10.0.0.1', family: 'IPv4', text: '10.0.0.1' },
  { name: 'IPv4 zero', in: '0.0.0.0', family: 'IPv4', text: '0.0.0.0' },
  { name: 'IPv4 broadcast', in: '255.255.255.255', family: 'IPv4', text: '255.255.255.255' },
  { name: 'IPv4 leading zeros read as decimal (k8s sloppy parsing, never octal)', in: '010.001.000.009', family: 'IPv4', text: '10.1.0.9' },
  { name: 'IPv6 full form', in: '2001:0db8:0000:0000:0000:0000:0000:0001', family: 'IPv6', text: '2001:db8::1' },
  { name: 'IPv6 upper case', in: '2001:DB8::ABCD', family: 'IPv6', text: '2001:db8::abcd' },
  { name: 'IPv6 unspecified', in: '::', family: 'IPv6', text: '::' },
  { name: 'IPv6 loopback', in: '::1', family: 'IPv6', text: '::1' },
  { name: 'IPv6 trailing ::', in: 'fe80::', family: 'IPv6', text: 'fe80::' },
  { name: 'IPv6 single zero group is not compressed (RFC 5952 4.2.2)', in: '2001:db8:0:1:1:1:1:1', family: 'IPv6', text: '2001:db8:0:1:1:1:1:1' },
  { name: 'IPv6 longest zero run is compressed', in: '2001:0:0:1:0:0:0:1', family: 'IPv6', text: '2001:0:0:1::1' },
  { name: 'IPv6 first run wins a tie', in: '2001:db8:0:0:1:0:0:1', family: 'IPv6', text: '2001:db8::1:0:0:1' },
  { name: 'IPv6 redundant :: form normalized', in: '1:2:3:4:5:6::8', family: 'IPv6', text: '1:2:3:4:5:6:0:8' },
  { name: 'IPv6 with embedded IPv4 (NAT64)', in: '64:ff9b::192.0.2.33', family: 'IPv6', text: '64:ff9b::c000:221' },
  { name: 'IPv4-compatible IPv6 stays IPv6, printed in hex (as Go)', in: '::1.2.3.4', family: 'IPv6', text: '::102:304' },
  { name: 'IPv4-mapped dotted is IPv4 (Go To4 parity)', in: '::ffff:1.2.3.4', family: 'IPv4', text: '1.2.3.4', mapped: true },
  { name: 'IPv4-mapped in hex is IPv4 too', in: '::FFFF:0102:0304', family: 'IPv4', text: '1.2.3.4', mapped: true },
  { name: 'IPv4-mapped full form', in: '0:0:0:0:0:ffff:a00:1', family: 'IPv4', text: '10.0.0.1', mapped: true },
  { name: 'IPv6 all groups set', in: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', text: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' },
];

for (const c of valid) {
  test(`parseIP accepts ${c.name}`, () => {
    const ip = parseIP(c.in);
    assert.ok(ip, `${c.in} should parse`);
    assert.deepEqual({ family: ip.family, text: ip.text, mapped: ip.mapped }, { family: c.family, text: c.text, mapped: c.mapped ?? false });
    assert.equal(ip.bytes.length, c.family === 'IPv4' ? 4 : 16);
    assert.equal(canonicalIP(c.in), c.text);
    assert.equal(ipFamilyOf(c.in), c.family);
    // canonical text is a fixed point
    assert.equal(parseIP(c.text)?.text, c.text);
  });
}

const invalid: { name: string; in: string; reason: RegExp }[] = [
  { name: 'empty', in: '', reason: /empty/ },
  { name: 'surrounding space', in: ' 10.0.0.1', reason: /whitespace/ },
  { name: 'three octets', in: '10.0.0', reason: /4 dot-separated/ },
  { name: 'octet over 255', in: '10.0.0.256', reason: /larger than 255/ },
  { name: 'four-digit octet', in: '10.0.0.0001', reason: /1-3 digits/ },
  { name: 'hex octet', in: '0x0a.0.0.1', reason: /decimal/ },
  { name: 'signed octet', in: '10.-1.0.1', reason: /decimal/ },
  { name: 'hostname', in: 'node-1', reason: /IPv4/ },
  { name: 'IPv6 zone', in: 'fe80::1%eth0', reason: /zones/ },
  { name: 'IPv6 in brackets', in: '[::1]', reason: /brackets/ },
  { name: 'double ::', in: '1::2::3', reason: /only once/ },
  { name: 'too many groups', in: '1:2:3:4:5:6:7:8:9', reason: /8 groups/ },
  { name: 'too few groups', in: '1:2:3:4:5:6:7', reason: /8 groups/ },
  { name: ':: with 8 other groups', in: '1:2:3:4::5:6:7:8', reason: /too many groups/ },
  { name: 'five hex digits', in: '12345::1', reason: /1-4 hex/ },
  { name: 'non-hex group', in: '2001:db8::g', reason: /1-4 hex/ },
  { name: 'bad embedded IPv4', in: '::ffff:1.2.3.256', reason: /embedded IPv4/ },
  { name: 'embedded IPv4 not last', in: '::1.2.3.4:1', reason: /IPv6/ },
  { name: 'CIDR is not an address', in: '10.0.0.0/8', reason: /IPv4/ },
  { name: 'port is not an address', in: '10.0.0.1:80', reason: /IPv6/ },
  { name: 'single colon start', in: ':1::2', reason: /hex/ },
];

for (const c of invalid) {
  test(`parseIP rejects ${c.name}`, () => {
    const r = parseIPResult(c.in);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, c.reason);
    assert.equal(parseIP(c.in), undefined);
    assert.equal(ipFamilyOf(c.in), undefined);
  });
}

test('compareIP orders IPv4 before IPv6, then numerically', () => {
  const input = ['fd00::10', '10.0.0.10', '::1', '10.0.0.9', '9.255.255.255', 'fd00::9'];
  const sorted = input.map((s) => parseIP(s)!).sort(compareIP).map((ip) => ip.text);
  assert.deepEqual(sorted, ['9.255.255.255', '10.0.0.9', '10.0.0.10', '::1', 'fd00::9', 'fd00::10']);
});

test('formatIPBytes refuses a byte array of the wrong length (a bug, not input)', () => {
  assert.throws(() => formatIPBytes(new Uint8Array(5)), /4 or 16 bytes/);
});
