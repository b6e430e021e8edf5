import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { disabledAddons, disabledBy, disableSet, needsApply, planPass } from './scan.ts';

describe('--disable matching (spec §3.9)', () => {
  const d = disableSet(['traefik,metrics-server', ' local-storage ', 'a/b/', '']);
  const cases: [string, string | undefined][] = [
    ['traefik.yaml', 'traefik'],
    ['traefik.YML', 'traefik'],
    ['traefik.json', 'traefik'],
    ['traefik-config.yaml', undefined],
    ['traefik.yaml.skip', undefined],
    ['traefik.txt', undefined],
    ['metrics-server/auth-reader.yaml', 'metrics-server'],
    ['metrics-server/README', 'metrics-server'],
    ['local-storage.yaml', 'local-storage'],
    ['a/b/c/x.yaml', 'a/b'],
    ['a/bc.yaml', undefined],
    ['x/traefik.yaml', undefined],
  ];
  for (const [path, want] of cases) {
    it(`${path} → ${want ?? 'not disabled'}`, () => assert.equal(disabledBy(path, d), want));
  }
  it('normalises comma lists, repeats, blanks and trailing slashes', () => {
    assert.deepEqual([...d].sort(), ['a/b', 'local-storage', 'metrics-server', 'traefik']);
  });
});

describe('planPass', () => {
  const files = ['b/app.yaml', 'app.yaml.skip', 'app.yaml', 'x.json', 'x.txt', '.hidden.yaml', 'README', 'y.YAML', '..data/z.yaml', 'a/app.yaml', 'traefik.yaml', 'Bad_Name.yaml'].map((relPath) => ({ relPath }));
  const plan = planPass([...files, { relPath: 'links/coredns.yaml', viaSymlinkDir: true }], { disables: new Set(['traefik', 'links']), naming: 'k3s' });
  const by = new Map(plan.map((p) => [p.relPath, p]));
  it('is in sorted path order', () => {
    assert.deepEqual(
      plan.map((p) => p.relPath),
      [...plan.map((p) => p.relPath)].sort(),
    );
  });
  it('ignores dot entries, other extensions, and files with a .skip marker in their directory', () => {
    assert.deepEqual(by.get('.hidden.yaml'), { action: 'ignore', relPath: '.hidden.yaml', why: 'dotfile' });
    assert.deepEqual(by.get('..data/z.yaml'), { action: 'ignore', relPath: '..data/z.yaml', why: 'dotfile' });
    assert.equal(by.get('x.txt')?.action, 'ignore');
    assert.equal(by.get('README')?.action, 'ignore');
    assert.equal(by.get('app.yaml.skip')?.action, 'ignore');
    assert.deepEqual(by.get('app.yaml'), { action: 'ignore', relPath: 'app.yaml', why: 'skip-marker' });
  });
  it('reads .json and upper-case extensions', () => {
    assert.deepEqual(by.get('x.json'), { action: 'manifest', relPath: 'x.json', addon: 'x' });
    assert.deepEqual(by.get('y.YAML'), { action: 'manifest', relPath: 'y.YAML', addon: 'y' });
  });
  it('refuses a second file with the same Addon name (first in sorted order keeps it)', () => {
    assert.deepEqual(by.get('a/app.yaml'), { action: 'manifest', relPath: 'a/app.yaml', addon: 'app' });
    assert.deepEqual(by.get('b/app.yaml'), { action: 'duplicate', relPath: 'b/app.yaml', addon: 'app', heldBy: 'a/app.yaml' });
  });
  it('the file that holds the name in the cluster keeps it', () => {
    const p = planPass(
      ['a/app.yaml', 'b/app.yaml'].map((relPath) => ({ relPath })),
      { disables: new Set(), naming: 'k3s', existingSources: new Map([['app', 'b/app.yaml']]) },
    );
    assert.deepEqual(
      p.map((x) => x.action),
      ['duplicate', 'manifest'],
    );
  });
  it('disable wins over .skip; files under a symlinked directory are not unlinked', () => {
    assert.deepEqual(by.get('traefik.yaml'), { action: 'disable', relPath: 'traefik.yaml', addon: 'traefik', matched: 'traefik', unlink: true });
    assert.deepEqual(by.get('links/coredns.yaml'), { action: 'disable', relPath: 'links/coredns.yaml', addon: 'coredns', matched: 'links', unlink: false });
    const p = planPass([{ relPath: 'traefik.yaml' }, { relPath: 'traefik.yaml.skip' }], { disables: new Set(['traefik']), naming: 'k3s' });
    assert.equal(p[0]!.action, 'disable');
  });
  it('names that are not valid object names are refused', () => {
    assert.deepEqual(by.get('Bad_Name.yaml'), { action: 'bad-name', relPath: 'Bad_Name.yaml', addon: 'Bad_Name' });
  });
  it('path naming keeps a/app.yaml and b/app.yaml apart', () => {
    const p = planPass(['a/app.yaml', 'b/app.yaml'].map((relPath) => ({ relPath })), { disables: new Set(), naming: 'path' });
    assert.deepEqual(
      p.map((x) => [x.action, 'addon' in x ? x.addon : '']),
      [
        ['manifest', 'a.app'],
        ['manifest', 'b.app'],
      ],
    );
  });
});

describe('needsApply (content decides, not mtime)', () => {
  const cases: [string, Parameters<typeof needsApply>[0], string, boolean][] = [
    ['first pass of this process', undefined, 'c1', true],
    ['same content', { checksum: 'c1' }, 'c1', false],
    ['changed content', { checksum: 'c1' }, 'c2', true],
    ['last attempt failed', { checksum: 'c1', failed: true }, 'c1', true],
    ['never succeeded', { failed: false }, 'c1', true],
  ];
  for (const [what, prev, sum, want] of cases) it(what, () => assert.equal(needsApply(prev, sum), want));
});

describe('disabledAddons (spec B3: no file needed)', () => {
  it('matches names and sources under disabled directories', () => {
    const got = disabledAddons(
      [
        { name: 'traefik', relSource: undefined },
        { name: 'auth-reader', relSource: 'metrics-server/auth-reader.yaml' },
        { name: 'traefik-config', relSource: 'traefik-config.yaml' },
        { name: 'app', relSource: 'app.yaml' },
      ],
      new Set(['traefik', 'metrics-server']),
    );
    assert.deepEqual(got, ['auth-reader', 'traefik']);
  });
});
