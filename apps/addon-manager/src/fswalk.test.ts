import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planPass } from '@portico/addon';
import { walkManifests } from './fswalk.ts';

describe('walkManifests', () => {
  it('a projected ConfigMap: files through the ..data symlink, its swap seen, dot directories not entered', async () => {
    const root = mkdtempSync(join(tmpdir(), 'addon-walk-'));
    const cm = join(root, 'user');
    mkdirSync(join(cm, '..2026_01_01_v1'), { recursive: true });
    writeFileSync(join(cm, '..2026_01_01_v1', 'app.yaml'), 'v1');
    symlinkSync('..2026_01_01_v1', join(cm, '..data'));
    symlinkSync('..data/app.yaml', join(cm, 'app.yaml'));
    writeFileSync(join(root, 'top.yml'), 'x');
    const files = await walkManifests(root);
    assert.deepEqual(files, [{ relPath: 'top.yml' }, { relPath: 'user/app.yaml' }]);
    assert.deepEqual(
      planPass(files, { disables: new Set(), naming: 'k3s' }).map((d) => d.action),
      ['manifest', 'manifest'],
    );
    // The kubelet's atomic swap: a new timestamped directory, then ..data replaced by rename.
    mkdirSync(join(cm, '..2026_01_02_v2'));
    writeFileSync(join(cm, '..2026_01_02_v2', 'app.yaml'), 'v2');
    symlinkSync('..2026_01_02_v2', join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    assert.deepEqual(await walkManifests(root), [{ relPath: 'top.yml' }, { relPath: 'user/app.yaml' }]);
  });
  it('a symlinked directory is followed once and its files are flagged; loops end; dangling links are skipped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'addon-walk-'));
    const outside = mkdtempSync(join(tmpdir(), 'addon-walk-out-'));
    writeFileSync(join(outside, 'linked.yaml'), 'x');
    symlinkSync(outside, join(outside, 'loop'));
    symlinkSync(outside, join(root, 'ext'));
    symlinkSync(join(root, 'nowhere.yaml'), join(root, 'dangling.yaml'));
    assert.deepEqual(await walkManifests(root), [{ relPath: 'ext/linked.yaml', viaSymlinkDir: true }]);
  });
});
