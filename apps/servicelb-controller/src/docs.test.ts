import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { EventReason } from '@portico/labels';
import { SERVICE_STATES } from '@portico/servicelb';
import { cleanupFlags } from '@portico/servicelb-runtime';
import { FIELD_MANAGER, leaseNameFlag, renderFlags, runFlags } from './config.ts';
import { MetricNames } from '@portico/servicelb-runtime';

// The "Controller" section of docs/servicelb.md is the reference for flags, metrics, the field
// manager and RBAC (STYLE rule 11): checked against the code in both directions where it can be.

const doc = readFileSync(new URL('../../../docs/servicelb.md', import.meta.url), 'utf8');
const start = doc.indexOf('\n## Controller\n');
const next = doc.indexOf('\n## ', start + 1);
const section = start < 0 ? '' : doc.slice(start, next < 0 ? undefined : next);

describe('docs/servicelb.md "Controller" section', () => {
  it('exists', () => assert.ok(section.length > 0, 'no "## Controller" heading in docs/servicelb.md'));

  it('documents every flag of run, render and cleanup with its environment variable, and no other flag', () => {
    for (const f of [...runFlags, ...renderFlags, ...cleanupFlags(leaseNameFlag)]) {
      assert.ok(section.includes(`\`--${f.name}\``), `--${f.name} is not documented`);
      if (f.env) assert.ok(section.includes(`\`${f.env}\``), `${f.env} is not documented`);
    }
    const known = new Set([...runFlags, ...renderFlags, ...cleanupFlags(leaseNameFlag)].map((f) => f.name));
    for (const m of section.matchAll(/`--([a-z][a-z-]*)`/g)) assert.ok(known.has(m[1]!), `the doc names --${m[1]}, which does not exist`);
  });

  it('documents every portico_servicelb_ metric, and no metric that does not exist', () => {
    const names = new Set<string>(Object.values(MetricNames));
    for (const n of names) assert.ok(section.includes(`\`${n}\``), `${n} is not documented`);
    for (const m of section.matchAll(/portico_servicelb_[a-z_]+/g)) assert.ok(names.has(m[0]), `the doc names ${m[0]}, which does not exist`);
    for (const s of SERVICE_STATES) assert.ok(section.includes(`\`${s}\``), `state ${s} is not documented`);
  });

  it('names the field manager, the event reasons the controller adds, and every RBAC resource', () => {
    assert.ok(section.includes(`\`${FIELD_MANAGER}\``));
    assert.ok(section.includes(EventReason.SyncLoadBalancerFailed));
    const rbac = parseAllDocuments(readFileSync(new URL('../rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as { rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] });
    for (const rule of rbac.flatMap((o) => o.rules ?? [])) {
      for (const r of rule.resources) {
        const name = rule.apiGroups[0] ? `${r}.${rule.apiGroups[0]}` : r;
        const row = section.split('\n').find((l) => l.startsWith('| ') && l.includes(`| ${name} |`));
        assert.ok(row, `RBAC resource ${name} is not in the RBAC table`);
        for (const v of rule.verbs) assert.ok(row.includes(v), `verb ${v} on ${name} is not in the RBAC table`);
      }
    }
  });
});
