import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { AddonReason, HelmReason } from '@portico/addon';
import { cleanupFlags } from './cleanup.ts';
import { renderFlags, runFlags } from './config.ts';
import { MetricNames } from './metrics.ts';

// docs/addon-manager.md is the reference for flags, metrics and Event reasons (STYLE rule 11):
// checked against the code in both directions.

const doc = readFileSync(new URL('../../../docs/addon-manager.md', import.meta.url), 'utf8');

describe('docs/addon-manager.md', () => {
  it('documents every flag with its environment variable, and no flag that does not exist', () => {
    for (const f of [...runFlags, ...renderFlags, ...cleanupFlags]) {
      assert.ok(doc.includes(`\`--${f.name}\``), `--${f.name} is not documented`);
      if (f.env) assert.ok(doc.includes(`\`${f.env}\``), `${f.env} is not documented`);
    }
    const known = new Set([...runFlags, ...renderFlags, ...cleanupFlags].map((f) => f.name));
    for (const m of doc.matchAll(/`--([a-z][a-z-]*)[ =`]/g)) assert.ok(known.has(m[1]!) || ['set', 'set-string', 'labels', 'server-side', 'values'].includes(m[1]!), `the doc names --${m[1]}, which does not exist`);
  });
  it('documents every portico_addon_ metric, and no other', () => {
    const names = new Set<string>(Object.values(MetricNames));
    for (const n of names) assert.ok(doc.includes(`\`${n}\``), `${n} is not documented`);
    for (const m of doc.matchAll(/portico_addon_[a-z_]+/g)) assert.ok(names.has(m[0]), `the doc names ${m[0]}, which does not exist`);
  });
  it('names every Event reason', () => {
    for (const r of [...Object.values(AddonReason), ...Object.values(HelmReason)]) assert.ok(doc.includes(`\`${r}\``), `${r} is not documented`);
  });
  it('has the acceptance checklist with all 39 items of spec §7', () => {
    const start = doc.indexOf('## Acceptance checklist');
    assert.ok(start > 0);
    const rows = doc.slice(start).split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.deepEqual(
      rows.map((l) => Number(l.split('|')[1])),
      Array.from({ length: 39 }, (_, i) => i + 1),
    );
  });
});
