import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { K3S_TEMPLATE_DEFAULTS, placeholderValues, renderTemplate, stagePlan, templateSettingsProblems } from './template.ts';

describe('placeholders (spec §3.1)', () => {
  it('single-stack DNS, registry with a trailing slash added', () => {
    const v = placeholderValues({ ...K3S_TEMPLATE_DEFAULTS, systemDefaultRegistry: 'reg.io' });
    assert.equal(v['CLUSTER_DNS'], '10.43.0.10');
    assert.equal(v['CLUSTER_DNS_LIST'], '[10.43.0.10]');
    assert.equal(v['CLUSTER_DNS_IPFAMILYPOLICY'], 'SingleStack');
    assert.equal(v['SYSTEM_DEFAULT_REGISTRY'], 'reg.io/');
    assert.equal(v['SYSTEM_DEFAULT_REGISTRY_RAW'], 'reg.io');
    assert.equal(v['PREFERRED_ADDRESS_TYPES'], 'InternalIP,ExternalIP,Hostname');
  });
  it('dual-stack DNS requires dual stack; no registry gives empty strings', () => {
    const v = placeholderValues({ ...K3S_TEMPLATE_DEFAULTS, clusterDns: ['10.43.0.10', '2001:cafe:43::a'] });
    assert.equal(v['CLUSTER_DNS_LIST'], '[10.43.0.10,2001:cafe:43::a]');
    assert.equal(v['CLUSTER_DNS_IPFAMILYPOLICY'], 'RequireDualStack');
    assert.equal(v['SYSTEM_DEFAULT_REGISTRY'], '');
    assert.equal(v['SYSTEM_DEFAULT_REGISTRY_RAW'], '');
  });
  it('%{KUBERNETES_API}% stays for the Helm Job; unknown placeholders are reported', () => {
    const r = renderTemplate('a: %{CLUSTER_DOMAIN}%\nb: https://%{KUBERNETES_API}%/x\nc: %{NOPE}%', placeholderValues(K3S_TEMPLATE_DEFAULTS));
    assert.equal(r.text, 'a: cluster.local\nb: https://%{KUBERNETES_API}%/x\nc: %{NOPE}%');
    assert.deepEqual(r.unknown, ['NOPE']);
  });
  it('settings problems name the field and the value', () => {
    const p = templateSettingsProblems({ ...K3S_TEMPLATE_DEFAULTS, clusterDns: ['10.0.0.1', '10.0.0.2'], clusterDomain: 'Bad_Domain', defaultLocalStoragePath: 'rel', preferredAddressTypes: ['Foo'] });
    assert.deepEqual(
      p.map((x) => `${x.field}=${x.value}`),
      ['clusterDns=10.0.0.1,10.0.0.2', 'clusterDomain=Bad_Domain', 'defaultLocalStoragePath=rel', 'preferredAddressTypes=Foo'],
    );
    assert.deepEqual(templateSettingsProblems(K3S_TEMPLATE_DEFAULTS), []);
  });
});

describe('stagePlan', () => {
  const templates = [
    { relPath: 'coredns.yaml', text: 'ip: %{CLUSTER_DNS}%' },
    { relPath: 'metrics-server/a.yaml', text: 'x' },
    { relPath: 'traefik.yaml', text: 'repo: %{TRAEFIK_CHART_REPO}%' },
  ];
  it('renders every template not disabled, by name or directory', () => {
    const p = stagePlan(templates, K3S_TEMPLATE_DEFAULTS, new Set(['metrics-server']));
    assert.deepEqual(p.write, [
      { relPath: 'coredns.yaml', text: 'ip: 10.43.0.10' },
      { relPath: 'traefik.yaml', text: 'repo: https://traefik.github.io/charts' },
    ]);
    assert.deepEqual(p.skipped, ['metrics-server/a.yaml']);
  });
  it('a template with an unknown placeholder fails the staging', () => {
    assert.throws(() => stagePlan([{ relPath: 'x.yaml', text: '%{TYPO}%' }], K3S_TEMPLATE_DEFAULTS, new Set()), /x\.yaml uses unknown placeholders: TYPO/);
  });
});
