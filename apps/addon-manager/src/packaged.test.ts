// The packaged templates (apps/addon-manager/manifests/**) are embedded in packaged.generated.ts so
// the bundled binary needs no files beside it. This test fails when the two differ;
// UPDATE_GOLDEN=1 regenerates the module from the YAML files.

import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectGolden } from '@portico/testing';
import { K3S_TEMPLATE_DEFAULTS, parseManifest, stagePlan } from '@portico/addon';
import { PACKAGED_TEMPLATES } from './packaged.generated.ts';

const root = fileURLToPath(new URL('../manifests/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

function generate(): string {
  const entries = walk(root).map((p) => ({ relPath: relative(root, p), text: readFileSync(p, 'utf8') }));
  return [
    '// Generated from apps/addon-manager/manifests/** by packaged.test.ts (UPDATE_GOLDEN=1). Do not edit.',
    "import type { PackagedTemplate } from '@portico/addon';",
    '',
    'export const PACKAGED_TEMPLATES: readonly PackagedTemplate[] = Object.freeze([',
    ...entries.map((e) => `  { relPath: ${JSON.stringify(e.relPath)}, text: ${JSON.stringify(e.text)} },`),
    ']);',
    '',
  ].join('\n');
}

describe('packaged templates', () => {
  it('packaged.generated.ts matches the YAML files', () => {
    expectGolden(fileURLToPath(new URL('./packaged.generated.ts', import.meta.url)), generate());
  });
  it('K3s layout: coredns, traefik, local-storage at the top, metrics-server/ as one file per Addon', () => {
    assert.deepEqual(
      PACKAGED_TEMPLATES.map((t) => t.relPath),
      [
        'coredns.yaml',
        'local-storage.yaml',
        'metrics-server/aggregated-metrics-reader.yaml',
        'metrics-server/auth-delegator.yaml',
        'metrics-server/auth-reader.yaml',
        'metrics-server/metrics-apiservice.yaml',
        'metrics-server/metrics-server-deployment.yaml',
        'metrics-server/metrics-server-service.yaml',
        'metrics-server/resource-reader.yaml',
        'traefik.yaml',
      ],
    );
  });
  it('staged with DNS 10.43.0.10, cluster.local and registry reg.io (spec §7.19)', () => {
    const plan = stagePlan(PACKAGED_TEMPLATES, { ...K3S_TEMPLATE_DEFAULTS, clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', systemDefaultRegistry: 'reg.io' }, new Set());
    const objects = plan.write.flatMap((f) => {
      assert.doesNotMatch(f.text.replaceAll('%{KUBERNETES_API}%', ''), /%\{/, `${f.relPath} has a placeholder left`);
      const r = parseManifest(f.text);
      assert.ok(r.ok, `${f.relPath}: ${JSON.stringify(r)}`);
      return r.objects;
    });
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'kube-dns') as unknown as { spec: { clusterIP: string; clusterIPs: string[]; ipFamilyPolicy: string } };
    assert.equal(svc.spec.clusterIP, '10.43.0.10');
    assert.deepEqual(svc.spec.clusterIPs, ['10.43.0.10']);
    assert.equal(svc.spec.ipFamilyPolicy, 'SingleStack');
    const images = objects.flatMap((o) => ((o['spec'] as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec?.containers ?? []).map((c) => c.image));
    assert.ok(images.length >= 3);
    for (const image of images) assert.match(image, /^reg\.io\//);
    const corefile = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'coredns') as unknown as { data: { Corefile: string } }).data.Corefile;
    assert.match(corefile, /kubernetes cluster\.local in-addr\.arpa/);
    const charts = objects.filter((o) => o.kind === 'HelmChart');
    assert.deepEqual(
      charts.map((c) => c.metadata.name),
      ['traefik-crd', 'traefik'],
    );
    assert.equal((charts[1]!['spec'] as { set: Record<string, string> }).set['global.systemDefaultRegistry'], 'reg.io');
  });
});
