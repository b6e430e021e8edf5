// The chart, rendered with the helm binary the project builds: lint, golden renders of notable value
// sets, RBAC identical to the apps' rbac.yaml, clear failures for bad values, and no field the
// controllers write. Needs .cache/bin/helm (bash tools/k8s/build-tools helm); fails naming it.
import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectGolden } from '@portico/testing';
import { CHART_DIR, REPO, RBAC_APPS, staleChartFiles } from './chart-files.ts';
import { helm, helmTemplate, parseObjects, type K8sObject } from './helm.ts';

const TESTDATA = join(REPO, 'deploy', 'testdata');
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** Value sets rendered to golden files: name -> values files and --set pairs. */
const VALUE_SETS: Record<string, { values?: string[]; set?: string[]; namespace?: string }> = {
  default: {},
  custom: { values: ['deploy/testdata/values/custom.yaml'], namespace: 'portico' },
  'netpol-only': { values: ['deploy/testdata/values/netpol-only.yaml'] },
  'addon-manager': { values: ['deploy/testdata/values/addon-manager.yaml'] },
};

function render(o: Parameters<typeof helmTemplate>[0]): K8sObject[] {
  const r = helmTemplate(o);
  assert.equal(r.code, 0, `helm template failed: ${r.stderr}`);
  return parseObjects(r.stdout);
}

/** Every object the chart renders for a component, keyed "Kind/name". */
function rbacOf(objects: readonly K8sObject[], app: string): Map<string, K8sObject> {
  const out = new Map<string, K8sObject>();
  for (const o of objects) {
    if (!RBAC_KINDS.has(o.kind) || o.metadata.labels?.['app.kubernetes.io/name'] !== app) continue;
    out.set(`${o.kind}/${o.metadata.name}`, o);
  }
  return out;
}

function withoutLabels(o: K8sObject): K8sObject {
  const { labels: _labels, ...metadata } = o.metadata;
  return { ...o, metadata: metadata as K8sObject['metadata'] };
}

function appRbac(app: string): K8sObject[] {
  return parseObjects(readFileSync(join(REPO, 'apps', app, 'rbac.yaml'), 'utf8'));
}

/** The objects of apps/ccm/rbac.yaml that only hosting ServiceLB needs. */
const CCM_SERVICELB = /^portico-ccm-servicelb$/;
const appsWithRbac = RBAC_APPS.filter((a) => existsSync(join(REPO, 'apps', a, 'rbac.yaml')));

describe('chart files', () => {
  it('files/rbac and the dashboard are current with their sources (node --import tsx deploy/src/sync-chart-files.ts)', () => {
    assert.deepEqual(
      staleChartFiles().map((f) => `${f.path} <- ${f.from}`),
      [],
    );
  });

  it('the chart version and appVersion follow package.json (the image tags build-all uses)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const chart = readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8');
    assert.match(chart, new RegExp(`^version: ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(chart, new RegExp(`^appVersion: "${pkg.version.replace(/\./g, '\\.')}"$`, 'm'));
  });
});

describe('helm lint', () => {
  for (const [name, vs] of Object.entries(VALUE_SETS)) {
    it(`is clean (--strict) with the ${name} values`, () => {
      const args = ['lint', '--strict', CHART_DIR, '--namespace', vs.namespace ?? 'kube-system'];
      for (const v of vs.values ?? []) args.push('--values', join(REPO, v));
      const r = helm(args);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout + r.stderr, /\[(WARNING|ERROR)\]/);
    });
  }
});

describe('helm template goldens', () => {
  for (const [name, vs] of Object.entries(VALUE_SETS)) {
    it(`renders the ${name} values as the golden file says`, () => {
      const r = helmTemplate(vs);
      assert.equal(r.code, 0, r.stderr);
      expectGolden(join(TESTDATA, `${name}.golden`), r.stdout);
    });
  }
});

describe('standalone manifests (deploy/manifests): each component without the chart', () => {
  // What `kubectl apply -f deploy/manifests/<app>.yaml` installs: the chart's defaults for that
  // component alone, in kube-system. Rewritten with UPDATE_GOLDEN=1 like every golden.
  // Helm hooks (uninstall cleanup) are the chart's alone: `kubectl apply` would run them at once.
  const ONLY: Record<string, string[]> = {
    'servicelb-controller': ['netpolAgent.enabled=false', 'uninstallCleanup.enabled=false'],
    'netpol-agent': ['servicelbController.enabled=false', 'uninstallCleanup.enabled=false'],
    ccm: ['servicelbController.enabled=false', 'netpolAgent.enabled=false', 'ccm.enabled=true', 'uninstallCleanup.enabled=false'],
    'addon-manager': ['servicelbController.enabled=false', 'netpolAgent.enabled=false', 'addonManager.enabled=true', 'uninstallCleanup.enabled=false'],
  };
  for (const [app, set] of Object.entries(ONLY)) {
    it(`deploy/manifests/${app}.yaml is the chart's ${app} alone`, () => {
      const r = helm(['template', 'portico', CHART_DIR, '--namespace', 'kube-system', ...(app === 'addon-manager' ? ['--include-crds'] : []), ...set.flatMap((x) => ['--set', x])]);
      assert.equal(r.code, 0, r.stderr);
      const objects = parseObjects(r.stdout);
      const names = new Set(objects.map((o) => o.metadata.labels?.['app.kubernetes.io/name']).filter(Boolean));
      assert.deepEqual([...names], [app]);
      const header = [
        `# ${app} without the Helm chart: kubectl apply -f deploy/manifests/${app}.yaml`,
        '# Generated from deploy/helm/portico (chart defaults, namespace kube-system) by',
        '# deploy/src/chart.test.ts; UPDATE_GOLDEN=1 rewrites it. Do not edit: change the chart.',
        '',
      ].join('\n');
      expectGolden(join(REPO, 'deploy', 'manifests', `${app}.yaml`), header + r.stdout);
    });
  }
});

describe('RBAC comes from the apps, unchanged', () => {
  it('at least servicelb-controller and netpol-agent have rbac.yaml', () => {
    assert.ok(appsWithRbac.includes('servicelb-controller') && appsWithRbac.includes('netpol-agent'), appsWithRbac.join(','));
  });

  for (const app of appsWithRbac) {
    it(`${app}: with defaults (kube-system) the rendered RBAC objects equal apps/${app}/rbac.yaml${app === 'ccm' ? ' minus its hosted-ServiceLB part' : ''}`, () => {
      const objects = render({ set: enableAll() });
      const got = rbacOf(objects, app);
      const want = appRbac(app).filter((o) => app !== 'ccm' || !CCM_SERVICELB.test(o.metadata.name));
      assert.deepEqual([...got.keys()].sort(), want.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      for (const w of want) assert.deepEqual(withoutLabels(got.get(`${w.kind}/${w.metadata.name}`)!), w, `${w.kind}/${w.metadata.name}`);
    });
  }

  it('ccm hosting ServiceLB: the rendered RBAC objects equal apps/ccm/rbac.yaml, all of it', () => {
    if (!appsWithRbac.includes('ccm')) assert.fail('apps/ccm/rbac.yaml is missing');
    const objects = render({ set: ['servicelbController.enabled=false', 'ccm.enabled=true', 'ccm.serviceLB.enabled=true'] });
    const got = rbacOf(objects, 'ccm');
    const want = appRbac('ccm');
    assert.ok(want.some((o) => CCM_SERVICELB.test(o.metadata.name)), 'apps/ccm/rbac.yaml has no hosted-ServiceLB part');
    assert.deepEqual([...got.keys()].sort(), want.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    for (const w of want) assert.deepEqual(withoutLabels(got.get(`${w.kind}/${w.metadata.name}`)!), w, `${w.kind}/${w.metadata.name}`);
    console.log(`${want.length} objects`);
  });

  it('servicelb-controller: namespaces move with the release and the LB namespace, rules do not change', () => {
    const objects = render({ namespace: 'portico', set: ['serviceLB.namespace=lb-ns'] });
    const got = rbacOf(objects, 'servicelb-controller');
    const want = appRbac('servicelb-controller');
    for (const w of want) {
      const g = got.get(`${w.kind}/${w.metadata.name}`)!;
      const inLb = (w.kind === 'Role' || w.kind === 'RoleBinding') && w.metadata.name === 'portico-servicelb-controller';
      if (w.metadata.namespace) assert.equal(g.metadata.namespace, inLb ? 'lb-ns' : 'portico', `${w.kind}/${w.metadata.name}`);
      for (const s of (g['subjects'] as { namespace: string }[] | undefined) ?? []) assert.equal(s.namespace, 'portico');
      const rules = (g['rules'] as { resources: string[]; resourceNames?: string[] }[] | undefined) ?? [];
      const wantRules = (w['rules'] as { resources: string[]; resourceNames?: string[] }[] | undefined) ?? [];
      assert.equal(rules.length, wantRules.length);
      rules.forEach((r, i) => {
        const expected = r.resources.includes('namespaces') && r.resourceNames ? { ...wantRules[i], resourceNames: ['lb-ns'] } : wantRules[i];
        assert.deepEqual(r, expected);
      });
    }
  });

  it('ccm: with serviceLB.program=rke2 its Lease rule follows the Lease name the ccm then uses', () => {
    const objects = render({ set: ['ccm.enabled=true', 'serviceLB.program=rke2'] });
    const role = rbacOf(objects, 'ccm').get('Role/portico-ccm-leader-election')!;
    const names = (role['rules'] as { resources: string[]; resourceNames?: string[] }[]).flatMap((r) => (r.resources.includes('leases') ? (r.resourceNames ?? []) : []));
    assert.deepEqual(names, ['rke2-cloud-controller-manager', 'portico-servicelb-controller']);
    const ccm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'portico-ccm')!;
    assert.ok((ccm['spec'] as { template: { spec: PodSpec } }).template.spec.containers[0]!.args.includes('--program=rke2'));
  });

  it('a chart file that drifts from the app is caught (the check is not vacuous)', () => {
    // drifted-repo holds a servicelb-controller rbac.yaml with one verb added, and no other app.
    const tampered = staleChartFiles(CHART_DIR, join(TESTDATA, 'drifted-repo')).map((f) => `${f.path} <- ${f.from}`);
    assert.ok(tampered.includes('files/rbac/servicelb-controller.yaml <- apps/servicelb-controller/rbac.yaml'), tampered.join('; '));
    assert.ok(tampered.includes('files/rbac/netpol-agent.yaml <- '), tampered.join('; '));
  });
});

describe('bad values fail with a clear message', () => {
  const cases: { name: string; set: string[]; message: RegExp }[] = [
    { name: 'ServiceLB in both the servicelb-controller and the ccm', set: ['ccm.enabled=true', 'ccm.serviceLB.enabled=true'], message: /ServiceLB must have exactly one host/ },
    { name: 'an unknown netpol profile', set: ['netpolAgent.profile=kube-router'], message: /netpolAgent\/profile|netpolAgent\.profile/ },
    { name: 'a misspelt key', set: ['servicelbController.replica=2'], message: /additional properties? 'replica' not allowed|replica/ },
    { name: 'a negative replica count', set: ['servicelbController.replicas=-1'], message: /servicelbController\/replicas|servicelbController\.replicas/ },
    { name: 'an invalid LB namespace', set: ['serviceLB.namespace=Kube_System'], message: /serviceLB\/namespace|serviceLB\.namespace/ },
    { name: 'a service CIDR that is not one', set: ['netpolAgent.serviceCIDRs[0]=10.43.0.0'], message: /netpolAgent\/serviceCIDRs\/0|serviceCIDRs/ },
    { name: 'createNamespace for kube-system', set: ['serviceLB.createNamespace=true'], message: /must be a dedicated namespace/ },
    { name: 'an add-on manifest whose name is not a YAML file', set: ['addonManager.manifests.hello=x'], message: /addonManager\/manifests/ },
    { name: 'a K3s --disable list in one string', set: ['addonManager.disable[0]=traefik\\,coredns'], message: /addonManager\/disable\/0/ },
    { name: 'an unknown forwarding mode', set: ['serviceLB.forwardingMode=privileged'], message: /serviceLB\/forwardingMode/ },
    { name: 'an extra argument that is not a flag', set: ['netpolAgent.extraArgs[0]=run'], message: /netpolAgent\/extraArgs\/0|extraArgs/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = helmTemplate({ set: c.set });
      assert.notEqual(r.code, 0, `helm template accepted ${c.set.join(' ')}`);
      assert.match(r.stderr, c.message);
      assert.equal(r.stdout, '', 'nothing is rendered on failure');
    });
  }
});

describe('the chart leaves controller-written fields alone (Helm 4 applies server-side)', () => {
  for (const [name, vs] of Object.entries(VALUE_SETS)) {
    it(`${name}: no status, no svclb DaemonSet, no LoadBalancer Service`, () => {
      for (const o of render(vs)) {
        const id = `${o.kind}/${o.metadata.name}`;
        assert.equal(o['status'], undefined, `${id} carries status`);
        assert.ok(!(o.kind === 'DaemonSet' && o.metadata.name.startsWith('svclb-')), `${id} is the controller's`);
        if (o.kind === 'Service') assert.notEqual((o['spec'] as { type?: string }).type, 'LoadBalancer', id);
      }
    });
  }
});

describe('pods run with least privilege', () => {
  it('controllers are non-root with a read-only root and no capabilities; netpol-agent adds only NET_ADMIN and NET_RAW', () => {
    const objects = render({ set: enableAll() });
    const workloads = objects.filter((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && !isHook(o));
    assert.ok(workloads.length >= 2);
    for (const w of workloads) {
      const pod = (w['spec'] as { template: { spec: PodSpec } }).template.spec;
      for (const c of pod.containers) {
        const sc = c.securityContext;
        assert.equal(sc.readOnlyRootFilesystem, true, `${w.metadata.name}/${c.name}`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name}`);
        assert.deepEqual(sc.capabilities.drop, ['ALL']);
        if (w.metadata.name === 'portico-netpol-agent') {
          assert.deepEqual(sc.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
        } else {
          assert.equal(sc.capabilities.add, undefined, `${w.metadata.name} adds capabilities`);
          assert.equal(pod.securityContext.runAsNonRoot, true, w.metadata.name);
        }
      }
    }
  });

  it('image references: ghcr.io/portico/<app>:<appVersion> by default; global.imageRegistry replaces every registry', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const def = render({});
    const ctl = def.find((o) => o.kind === 'Deployment' && o.metadata.name === 'portico-servicelb-controller')!;
    const c = (ctl['spec'] as { template: { spec: PodSpec } }).template.spec.containers[0]!;
    assert.equal(c.image, `ghcr.io/portico/servicelb-controller:${pkg.version}`);
    assert.ok(c.args.includes(`--forwarder-image=ghcr.io/portico/lb-forwarder:${pkg.version}`), c.args.join(' '));
    const mirrored = render({ set: ['global.imageRegistry=mirror.example:5000'] });
    const images = mirrored.flatMap((o) => (['Deployment', 'DaemonSet', 'Job'].includes(o.kind) ? podOf(o).containers.flatMap((x) => [x.image, ...(x.args ?? []).filter((a) => a.startsWith('--forwarder-image='))]) : []));
    assert.ok(images.length >= 3);
    for (const i of images) assert.match(i, /(^|=)mirror\.example:5000\/portico\//);
  });
});

describe('uninstall hooks leave nothing behind (templates/uninstall-cleanup.yaml)', () => {
  const all = ['ccm.enabled=true', 'addonManager.enabled=true'];
  const hooksOf = (objects: readonly K8sObject[]): K8sObject[] => objects.filter(isHook);
  const ann = (o: K8sObject): Record<string, string> => o.metadata['annotations'] as Record<string, string>;
  /** `<app> <command> --help` of the app's source. */
  function commandHelp(app: string, command: string): string {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'apps', app, 'src', 'main.ts'), command, '--help'], { encoding: 'utf8', cwd: REPO });
    assert.equal(r.status, 0, `${app} ${command} --help: ${r.stderr}`);
    return r.stdout;
  }

  it('every component on: one pre-delete Job (addon-manager) and post-delete ServiceLB and netpol cleanup, in weight order', () => {
    const hooks = hooksOf(render({ set: all }));
    const jobs = hooks.filter((o) => o.kind === 'Job').map((o) => `${ann(o)['helm.sh/hook']}:${ann(o)['helm.sh/hook-weight']}:${o.metadata.name}`);
    // netpol first: until its rules are gone, a node rejects new pods' traffic (default-deny of
    // unprogrammed pods), so its Jobs use the host network and the ServiceLB Job comes after.
    assert.deepEqual(jobs.sort(), [
      'post-delete:0:portico-netpol-cleanup-agents-gone',
      'post-delete:2:portico-netpol-cleanup-done',
      'post-delete:3:portico-servicelb-cleanup',
      'post-delete:4:portico-addon-manager-addons-cleanup',
      'pre-delete:0:portico-addon-manager-cleanup',
    ]);
    const ds = hooks.filter((o) => o.kind === 'DaemonSet');
    assert.deepEqual(ds.map((o) => `${ann(o)['helm.sh/hook']}:${ann(o)['helm.sh/hook-weight']}:${o.metadata.name}`), ['post-delete:1:portico-netpol-cleanup']);
    const hostNet = hooks.filter((o) => (o.kind === 'Job' || o.kind === 'DaemonSet') && (podOf(o) as { hostNetwork?: boolean }).hostNetwork === true).map((o) => o.metadata.name);
    assert.deepEqual(hostNet.sort(), ['portico-netpol-cleanup', 'portico-netpol-cleanup-agents-gone', 'portico-netpol-cleanup-done']);
    for (const h of hooks) {
      assert.equal(ann(h)['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded', `${h.kind}/${h.metadata.name}`);
      if (['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(h.kind)) assert.equal(ann(h)['helm.sh/hook-weight'], '-10', `${h.kind}/${h.metadata.name} comes before the Jobs`);
    }
    // Each Job runs as its own hook ServiceAccount, created in the same phase.
    for (const j of hooks.filter((o) => o.kind === 'Job')) {
      const sa = hooks.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === podOf(j).serviceAccountName);
      assert.ok(sa, `${j.metadata.name}: ServiceAccount ${podOf(j).serviceAccountName} is a hook`);
      assert.equal(ann(sa)['helm.sh/hook'], ann(j)['helm.sh/hook']);
    }
  });

  it('hook containers are non-root without capabilities, except the per-node cleanup (NET_ADMIN, NET_RAW, no API token)', () => {
    for (const h of hooksOf(render({ set: all })).filter((o) => o.kind === 'Job' || o.kind === 'DaemonSet')) {
      const pod = podOf(h);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext;
        assert.equal(sc.readOnlyRootFilesystem, true, `${h.metadata.name}/${c.name}`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${h.metadata.name}/${c.name}`);
        assert.deepEqual(sc.capabilities.drop, ['ALL']);
        if (h.metadata.name === 'portico-netpol-cleanup' && c.name === 'cleanup') {
          assert.deepEqual(sc.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
          assert.deepEqual(c.args, ['cleanup', '--iptables-backend=auto']);
        } else {
          assert.equal(sc.capabilities.add, undefined, `${h.metadata.name}/${c.name} adds capabilities`);
          assert.ok(pod.securityContext.runAsNonRoot === true || sc.runAsNonRoot === true, `${h.metadata.name}/${c.name} runs as root`);
        }
      }
      if (h.kind === 'DaemonSet') assert.equal(pod.automountServiceAccountToken, false);
    }
  });

  it('hook commands and flags are those of the apps', () => {
    let checked = 0;
    for (const h of hooksOf(render({ set: all })).filter((o) => o.kind === 'Job' || o.kind === 'DaemonSet')) {
      const pod = podOf(h);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        if (!c.args) continue;
        const app = /portico\/([a-z-]+):/.exec(c.image)![1]!;
        const help = commandHelp(app, c.args[0]!);
        for (const a of c.args.slice(1)) {
          const flag = a.replace(/=.*$/, '');
          assert.ok(help.includes(`  ${flag} `) || help.includes(`  ${flag}\n`), `${app} ${c.args[0]} has no flag ${flag}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 12, `only ${checked} flags checked`);
  });

  it('hook RBAC: only the verbs each step needs, no wildcard, no Secrets; the Lease and DaemonSet rights by name where Kubernetes allows', () => {
    const rules = (objects: readonly K8sObject[], sa: string): string[] =>
      hooksOf(objects)
        .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
        .filter((o) => o.metadata.name === sa || o.metadata.name.startsWith(`${sa}-`))
        .flatMap((o) => (o['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]).map((r) => `${o.kind === 'Role' ? o.metadata.namespace : '*'} ${r.apiGroups.join(',')}/${r.resources.join(',')}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}: ${r.verbs.join(',')}`))
        .sort();
    const objects = render({ set: all });
    assert.deepEqual(rules(objects, 'portico-addon-manager-cleanup'), ['* helm.cattle.io/helmcharts,helmchartconfigs: list,delete']);
    assert.deepEqual(rules(objects, 'portico-addon-manager-addons-cleanup'), ['kube-system k3s.cattle.io/addons: list,delete']);
    assert.deepEqual(rules(objects, 'portico-servicelb-cleanup'), [
      '* /services/status: patch',
      '* /services: list,patch',
      'kube-system apps/daemonsets: list,delete',
      'kube-system coordination.k8s.io/leases: create',
      'kube-system coordination.k8s.io/leases[portico-servicelb-controller]: get,update',
    ]);
    assert.deepEqual(rules(objects, 'portico-netpol-cleanup'), ['kube-system /pods: list', 'kube-system apps/daemonsets[portico-netpol-cleanup]: get']);
    // Every Role is bound to its own hook ServiceAccount, under a name no other hook object takes.
    const keys = hooksOf(objects).map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], 'no two hook objects share kind, namespace and name');
    for (const rb of hooksOf(objects).filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      const ref = (rb['roleRef'] as { kind: string; name: string });
      assert.ok(hooksOf(objects).some((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === rb.metadata.namespace), `${rb.kind}/${rb.metadata.name} binds a hook ${ref.kind}`);
    }
  });

  it('a chart-owned LB namespace: no Role there (it is being deleted), and the cleanup leaves its DaemonSets to the namespace deletion', () => {
    const objects = render({ set: ['serviceLB.namespace=portico-lb', 'serviceLB.createNamespace=true'] });
    const hooks = hooksOf(objects);
    assert.deepEqual(hooks.filter((o) => o.metadata.namespace === 'portico-lb').map((o) => `${o.kind}/${o.metadata.name}`), []);
    const job = hooks.find((o) => o.kind === 'Job' && o.metadata.name === 'portico-servicelb-cleanup')!;
    assert.ok(podOf(job).containers[0]!.args.includes('--delete-daemonsets=false'), podOf(job).containers[0]!.args.join(' '));
    assert.ok(podOf(job).containers[0]!.args.includes('--lb-namespace=portico-lb'));
  });

  it('ServiceLB in the ccm is cleaned up the same way; no ServiceLB host, no ServiceLB hook', () => {
    const inCcm = hooksOf(render({ set: ['servicelbController.enabled=false', 'ccm.enabled=true', 'ccm.serviceLB.enabled=true'] }));
    assert.ok(inCcm.some((o) => o.kind === 'Job' && o.metadata.name === 'portico-servicelb-cleanup'));
    const none = hooksOf(render({ set: ['servicelbController.enabled=false'] }));
    assert.deepEqual(none.filter((o) => o.metadata.name.startsWith('portico-servicelb')).map((o) => o.kind), []);
  });

  it('uninstallCleanup.enabled=false renders no hook at all', () => {
    assert.deepEqual(hooksOf(render({ set: [...all, 'uninstallCleanup.enabled=false'] })).map((o) => `${o.kind}/${o.metadata.name}`), []);
  });
});

describe('the flags the chart passes are flags of the apps', () => {
  const variants: { name: string; set: string[] }[] = [
    { name: 'every component, ServiceLB in servicelb-controller', set: ['ccm.enabled=true', 'addonManager.enabled=true', 'addonManager.disable[0]=traefik', 'servicelbController.extraArgs[0]=--workers=2'] },
    { name: 'ServiceLB in the ccm', set: ['servicelbController.enabled=false', 'ccm.enabled=true', 'ccm.serviceLB.enabled=true'] },
  ];
  const helpOf = new Map<string, string>();
  /** `<app> run --help` of the app's source (the flag list the binary accepts). */
  function runHelp(app: string): string {
    if (!helpOf.has(app)) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'apps', app, 'src', 'main.ts'), 'run', '--help'], { encoding: 'utf8', cwd: REPO });
      assert.equal(r.status, 0, `${app} run --help: ${r.stderr}`);
      helpOf.set(app, r.stdout);
    }
    return helpOf.get(app)!;
  }
  for (const v of variants) {
    it(v.name, () => {
      let checked = 0;
      for (const w of render({ set: v.set }).filter((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && !isHook(o))) {
        const app = w.metadata.labels!['app.kubernetes.io/name']!;
        const c = (w['spec'] as { template: { spec: PodSpec } }).template.spec.containers[0]!;
        assert.equal(c.args[0], 'run', `${app}: the chart runs the run command`);
        const help = runHelp(app);
        for (const a of c.args.slice(1)) {
          const flag = a.replace(/=.*$/, '');
          assert.ok(help.includes(`  ${flag} `) || help.includes(`  ${flag}\n`), `${app} has no flag ${flag}`);
          checked++;
        }
      }
      assert.ok(checked >= 15, `only ${checked} flags checked`);
    });
  }
});

interface Container {
  name: string;
  image: string;
  args: string[];
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities: { drop?: string[]; add?: string[] } };
}

interface PodSpec {
  securityContext: { runAsNonRoot?: boolean };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
}

function isHook(o: K8sObject): boolean {
  return Boolean((o.metadata['annotations'] as Record<string, string> | undefined)?.['helm.sh/hook']);
}

function podOf(o: K8sObject): PodSpec {
  return (o['spec'] as { template: { spec: PodSpec } }).template.spec;
}

/** --set pairs that enable every component whose RBAC file exists (ccm without ServiceLB). */
function enableAll(): string[] {
  const keys: Record<string, string> = { ccm: 'ccm', 'addon-manager': 'addonManager' };
  return appsWithRbac.filter((a) => a in keys).map((a) => `${keys[a]}.enabled=true`);
}
