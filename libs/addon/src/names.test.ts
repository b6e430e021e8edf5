import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  applySetId,
  checksum,
  formatGvksAnnotation,
  gvkString,
  k3sAddonName,
  parseGvksAnnotation,
  pathAddonName,
  wranglerSetHash,
} from './names.ts';

describe('Addon names', () => {
  const cases: [string, string, string][] = [
    // relPath, k3s rule, path rule
    ['traefik.yaml', 'traefik', 'traefik'],
    ['coredns.override.yaml', 'coredns', 'coredns.override'],
    ['a/x.yaml', 'x', 'a.x'],
    ['metrics-server/auth-reader.yaml', 'auth-reader', 'metrics-server.auth-reader'],
    ['App_Config.YML', 'App_Config', 'app-config'],
    ['noext', 'noext', 'noext'],
  ];
  for (const [path, k3s, byPath] of cases) {
    it(`${path}: k3s rule ${k3s}, path rule ${byPath}`, () => {
      assert.equal(k3sAddonName(path), k3s);
      assert.equal(pathAddonName(path), byPath);
    });
  }
  it('path rule: long paths are cut to 253 characters and keep a hash of the full path', () => {
    const long = `${'d'.repeat(200)}/${'f'.repeat(100)}.yaml`;
    const n = pathAddonName(long);
    assert.equal(n.length <= 253, true);
    assert.match(n, /-[0-9a-f]{8}$/);
    assert.notEqual(n, pathAddonName(`${'d'.repeat(200)}/${'f'.repeat(101)}.yaml`));
  });
});

describe('wrangler set hash (spec §2.3)', () => {
  it('is the SHA-1 of "" + owner GVK + name + namespace', () => {
    const want = createHash('sha1').update('k3s.cattle.io/v1, Kind=Addonfookube-system').digest('hex');
    assert.equal(wranglerSetHash('foo'), want);
    assert.match(wranglerSetHash('coredns'), /^[0-9a-f]{40}$/);
    assert.notEqual(wranglerSetHash('a'), wranglerSetHash('b'));
  });
});

describe('ApplySet ID', () => {
  it('follows KEP-3659: applyset-<base64url sha256 of name.namespace.kind.group>-v1', () => {
    const d = createHash('sha256').update('app.kube-system.Addon.k3s.cattle.io').digest('base64url');
    assert.equal(applySetId('app'), `applyset-${d}-v1`);
    assert.ok(applySetId('app').length <= 63, 'fits a label value');
  });
});

describe('GVK strings', () => {
  it('Go form, core group with a leading slash', () => {
    assert.equal(gvkString({ group: '', version: 'v1', kind: 'Service' }), '/v1, Kind=Service');
    assert.equal(gvkString({ group: 'apps', version: 'v1', kind: 'Deployment' }), 'apps/v1, Kind=Deployment');
  });
  it('annotation round trip, duplicates dropped, malformed entries reported', () => {
    const v = formatGvksAnnotation([
      { group: '', version: 'v1', kind: 'ConfigMap' },
      { group: 'apps', version: 'v1', kind: 'Deployment' },
      { group: '', version: 'v1', kind: 'ConfigMap' },
    ]);
    assert.equal(v, '/v1, Kind=ConfigMap;apps/v1, Kind=Deployment');
    const parsed = parseGvksAnnotation(`${v};garbage`);
    assert.deepEqual(parsed.gvks.map(gvkString), ['/v1, Kind=ConfigMap', 'apps/v1, Kind=Deployment']);
    assert.deepEqual(parsed.bad, ['garbage']);
    assert.deepEqual(parseGvksAnnotation(undefined), { gvks: [], bad: [] });
  });
});

describe('checksum', () => {
  it('is the hex SHA-256 of the bytes', () => {
    assert.equal(checksum('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(checksum(Buffer.from('abc')), checksum('abc'));
  });
});
