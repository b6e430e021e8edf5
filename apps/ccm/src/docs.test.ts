import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { EventReason } from '@portico/labels';
import { renderFlags, runFlags } from './config.ts';
import { MetricNames, NODE_METRIC_STATES } from './metrics.ts';

// docs/ccm.md is the reference for ccm's flags, metrics, events and RBAC (STYLE rule 11): checked
// against the code in both directions where it can be.

const doc = readFileSync(new URL('../../../docs/ccm.md', import.meta.url), 'utf8');
const section = (title: string): string => {
  const start = doc.indexOf(`\n## ${title}\n`);
  const next = doc.indexOf('\n## ', start + 1);
  return start < 0 ? '' : doc.slice(start, next < 0 ? undefined : next);
};
const running = section('Running');
const rbac = (path: string) =>
  parseAllDocuments(readFileSync(new URL(path, import.meta.url), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] });

describe('docs/ccm.md', () => {
  it('has the sections', () => {
    for (const s of ['Node initialization', 'Hosted ServiceLB, and which binary to use', 'Running']) assert.ok(section(s).length > 0, `no "## ${s}"`);
  });

  it('documents every flag of run and render with its environment variable, and no other flag', () => {
    for (const f of [...runFlags, ...renderFlags]) {
      assert.ok(running.includes(`\`--${f.name}\``), `--${f.name} is not documented`);
      if (f.env) assert.ok(running.includes(`\`${f.env}\``), `${f.env} is not documented`);
    }
    const known = new Set([...runFlags, ...renderFlags].map((f) => f.name));
    for (const m of running.matchAll(/`--([a-z][a-z-]*)`/g)) assert.ok(known.has(m[1]!), `the doc names --${m[1]}, which does not exist`);
  });

  it('documents every portico_ccm_ metric and state, and no metric that does not exist', () => {
    const names = new Set<string>(Object.values(MetricNames));
    for (const n of names) assert.ok(running.includes(`\`${n}\``), `${n} is not documented`);
    for (const m of doc.matchAll(/portico_ccm_[a-z_]+/g)) assert.ok(names.has(m[0]), `the doc names ${m[0]}, which does not exist`);
    for (const s of NODE_METRIC_STATES) assert.ok(running.includes(`\`${s}\``), `state ${s}`);
  });

  it('names the Events ccm emits', () => {
    for (const r of [EventReason.Synced, EventReason.NoUsableAddress, EventReason.InvalidAnnotation]) assert.ok(running.includes(`\`${r}\``), r);
  });

  it('lists every RBAC resource and verb of apps/ccm/rbac.yaml in its table', () => {
    for (const rule of rbac('../rbac.yaml').flatMap((o) => o.rules ?? [])) {
      for (const r of rule.resources) {
        const name = rule.apiGroups[0] ? `${r}.${rule.apiGroups[0]}` : r;
        const rows = running.split('\n').filter((l) => l.startsWith('| ') && l.includes(`| ${name} |`));
        assert.ok(rows.length > 0, `RBAC resource ${name} is not in the RBAC table`);
        for (const v of rule.verbs) assert.ok(rows.some((row) => row.includes(v)), `verb ${v} on ${name} is not in the RBAC table`);
      }
    }
  });
});

describe('apps/ccm/rbac.yaml', () => {
  it('grants the hosted ServiceLB exactly what servicelb-controller gets (same rules, so they cannot drift)', () => {
    const ccm = rbac('../rbac.yaml');
    const slb = rbac('../../servicelb-controller/rbac.yaml');
    const rules = (objs: ReturnType<typeof rbac>, kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)?.rules;
    assert.deepEqual(rules(ccm, 'ClusterRole', 'portico-ccm-servicelb'), rules(slb, 'ClusterRole', 'portico-servicelb-controller'));
    assert.deepEqual(rules(ccm, 'Role', 'portico-ccm-servicelb'), rules(slb, 'Role', 'portico-servicelb-controller'));
  });

  it('names both Leases: the K3s CCM Lease and the ServiceLB Lease servicelb-controller uses', () => {
    const ccm = rbac('../rbac.yaml');
    const slb = rbac('../../servicelb-controller/rbac.yaml');
    const leaseNames = (objs: ReturnType<typeof rbac>) => objs.flatMap((o) => o.rules ?? []).filter((r) => r.resources.includes('leases') && r.resourceNames).flatMap((r) => r.resourceNames!);
    assert.deepEqual(leaseNames(ccm), ['k3s-cloud-controller-manager', ...leaseNames(slb)]);
  });

  it('every object is plain Kubernetes RBAC (the chart consumes the file as is)', () => {
    for (const o of rbac('../rbac.yaml')) assert.ok(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind), o.kind);
  });
});
