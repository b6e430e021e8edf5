import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { sourceRanges } from './source-ranges.ts';
import { svc } from './testing/index.ts';

const ANN = 'service.beta.kubernetes.io/load-balancer-source-ranges';

describe('sourceRanges (SRC_RANGES, spec §5.6)', () => {
  const ok: { name: string; spec?: string[]; annotation?: string; families?: string[]; want: string }[] = [
    { name: 'default is 0.0.0.0/0 for an IPv4 Service', want: '0.0.0.0/0' },
    { name: 'default gets ::/0 appended for a dual-stack Service', families: ['IPv4', 'IPv6'], want: '0.0.0.0/0,::/0' },
    { name: 'default gets ::/0 appended for an IPv6-only Service', families: ['IPv6'], want: '0.0.0.0/0,::/0' },
    { name: 'explicit single 0.0.0.0/0 is extended like the default', spec: ['0.0.0.0/0'], families: ['IPv6', 'IPv4'], want: '0.0.0.0/0,::/0' },
    { name: 'user ranges are never extended with ::/0', spec: ['10.0.0.0/8'], families: ['IPv4', 'IPv6'], want: '10.0.0.0/8' },
    { name: 'host bits are cleared', spec: ['10.0.0.1/8'], want: '10.0.0.0/8' },
    { name: 'IPv6 is lower-cased and compressed', spec: ['2001:DB8:0:0::1/32'], want: '2001:db8::/32' },
    { name: 'duplicates after normalisation collapse', spec: ['10.0.0.1/8', '10.9.9.9/8'], want: '10.0.0.0/8' },
    { name: 'elements are trimmed', spec: [' 192.168.0.0/16 '], want: '192.168.0.0/16' },
    { name: 'the field wins over the annotation', spec: ['10.0.0.0/8'], annotation: '192.168.0.0/16', want: '10.0.0.0/8' },
    { name: 'annotation is used when the field is empty (trimmed, comma-split, each trimmed)', annotation: ' 192.168.0.0/16 , 10.0.0.0/8 ', want: '10.0.0.0/8,192.168.0.0/16' },
    { name: 'whitespace-only annotation means the default', annotation: '   ', want: '0.0.0.0/0' },
    { name: 'IPv4-only annotation 0.0.0.0/0 with dual-stack appends ::/0', annotation: '0.0.0.0/0', families: ['IPv4', 'IPv6'], want: '0.0.0.0/0,::/0' },
    { name: 'sorted IPv4 before IPv6, numerically not as strings (Portico fix for K3s §10.15 random order)', spec: ['fd00::/8', '10.0.0.0/24', '9.0.0.0/8', '10.0.0.0/16', '::/0'], want: '9.0.0.0/8,10.0.0.0/16,10.0.0.0/24,::/0,fd00::/8' },
    { name: 'leading zeros in IPv4 octets are read as decimal (k8s sloppy parsing)', spec: ['010.000.000.000/8'], want: '10.0.0.0/8' },
  ];
  for (const c of ok) {
    it(c.name, () => {
      const s = svc('web', { ...(c.spec ? { sourceRanges: c.spec } : {}), ...(c.annotation !== undefined ? { annotations: { [ANN]: c.annotation } } : {}), ...(c.families ? { ipFamilies: c.families } : {}) });
      const r = sourceRanges(s);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value, c.want);
    });
  }

  const bad: { name: string; spec?: string[]; annotation?: string; field: string; value: string; reason: string }[] = [
    { name: 'a bare address in the field is rejected', spec: ['10.0.0.1'], field: 'spec.loadBalancerSourceRanges', value: '10.0.0.1', reason: 'invalid CIDR address "10.0.0.1": not a CIDR: missing "/prefix"' },
    { name: 'a prefix over 32 is rejected', spec: ['10.0.0.0/33'], field: 'spec.loadBalancerSourceRanges', value: '10.0.0.0/33', reason: 'invalid CIDR address "10.0.0.0/33": not a CIDR: prefix /33 is longer than 32' },
    { name: 'garbage in the annotation names the annotation and its whole value', annotation: '10.0.0.0/8,nope/8', field: `annotation ${ANN}`, value: '10.0.0.0/8,nope/8', reason: 'invalid CIDR address "nope/8": not a CIDR: ' },
    { name: 'a trailing comma in the annotation is an empty, invalid element', annotation: '10.0.0.0/8,', field: `annotation ${ANN}`, value: '10.0.0.0/8,', reason: 'invalid CIDR address "": not a CIDR: empty' },
    { name: 'an IPv6 prefix over 128 is rejected', spec: ['fd00::/129'], field: 'spec.loadBalancerSourceRanges', value: 'fd00::/129', reason: 'invalid CIDR address "fd00::/129": not a CIDR: prefix /129 is longer than 128' },
    { name: 'every bad entry is named', spec: ['x/1', '10.0.0.0/8', 'y'], field: 'spec.loadBalancerSourceRanges', value: 'x/1,10.0.0.0/8,y', reason: 'invalid CIDR address "x/1": not a CIDR: ' },
  ];
  for (const c of bad) {
    it(c.name, () => {
      const s = svc('web', { ...(c.spec ? { sourceRanges: c.spec } : {}), ...(c.annotation !== undefined ? { annotations: { [ANN]: c.annotation } } : {}) });
      const r = sourceRanges(s);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.problem.field, c.field);
      assert.equal(r.problem.value, c.value);
      assert.ok(r.problem.reason.startsWith(c.reason), `${r.problem.reason} does not start with ${c.reason}`);
    });
  }
  it('with several bad entries the reason lists each', () => {
    const r = sourceRanges(svc('web', { sourceRanges: ['x/1', '10.0.0.0/8', 'y'] }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.problem.reason, /^invalid CIDR address "x\/1": .*; invalid CIDR address "y": not a CIDR: missing "\/prefix"$/);
  });
});
