/**
 * T2: `helm install` of deploy/helm/portico against the T2 control plane (RBAC enforced), then what
 * each component's ServiceAccount may do, asked of the API server:
 *   - `kubectl auth can-i --as=system:serviceaccount:...` for the headline allowed and denied cases;
 *   - a SubjectAccessReview matrix (every verb on every resource the app's rbac.yaml names, plus
 *     Secrets and ConfigMaps, in the release namespace, the LB namespace and another one, with and
 *     without the resourceNames) compared with what apps/<app>/rbac.yaml grants: exactly that, no
 *     more, no less.
 * The release goes to its own namespaces (created by helm and by the chart's serviceLB.createNamespace),
 * and `helm uninstall` must remove what it installed.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, REPO, RBAC_APPS } from '../../src/chart-files.ts';
import { helm, parseObjects, type K8sObject } from '../../src/helm.ts';

const KUBECTL = join(REPO, '.cache/bin/kubectl');
const ID = `chart-${Date.now().toString(36)}-${process.pid % 1000}`;
const NS = ID; // release namespace
const LB_NS = `${ID}-lb`;
const OTHER_NS = 'default';
const RELEASE = ID;
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
const VALUE_KEYS: Record<string, string> = { 'servicelb-controller': 'servicelbController', ccm: 'ccm', 'netpol-agent': 'netpolAgent', 'addon-manager': 'addonManager' };

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** A rule of the app's rbac.yaml, with the namespace the chart gives it (undefined: cluster-wide). */
interface ScopedRule extends Rule {
  namespace?: string;
}

function kubectl(args: readonly string[], input?: string): string {
  try {
    return execFileSync(KUBECTL, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw new Error(`kubectl ${args.join(' ')}: ${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

/** `kubectl auth can-i` as a ServiceAccount; true for "yes", false for "no". */
function canI(sa: string, verb: string, resource: string, namespace?: string): boolean {
  const args = ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NS}:${sa}`];
  if (namespace) args.push('-n', namespace);
  try {
    return execFileSync(KUBECTL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() === 'yes';
  } catch (e) {
    const out = (e as { stdout?: string }).stdout?.trim();
    if (out === 'no') return false;
    throw e;
  }
}

/** The app's rules with the namespaces the chart puts them in (release namespace; LB namespace for the LB Role). */
function scopedRules(app: string): ScopedRule[] {
  const docs = parseObjects(readFileSync(join(REPO, 'apps', app, 'rbac.yaml'), 'utf8'));
  const out: ScopedRule[] = [];
  for (const d of docs) {
    if (d.kind !== 'ClusterRole' && d.kind !== 'Role') continue;
    // ccm installed next to servicelb-controller: its hosted-ServiceLB part is not rendered.
    if (app === 'ccm' && d.metadata.name === 'portico-ccm-servicelb') continue;
    const lb = app === 'servicelb-controller' && d.kind === 'Role' && d.metadata.name === 'portico-servicelb-controller';
    const namespace = d.kind === 'Role' ? (lb ? LB_NS : NS) : undefined;
    for (const r of (d['rules'] as Rule[] | undefined) ?? []) {
      const names = r.resources.includes('namespaces') && r.resourceNames?.includes('kube-system') ? [LB_NS] : r.resourceNames;
      out.push({ ...r, ...(names ? { resourceNames: names } : {}), ...(namespace ? { namespace } : {}) });
    }
  }
  return out;
}

interface Check {
  group: string;
  resource: string; // plural, maybe with /subresource
  verb: string;
  namespace?: string; // undefined: cluster-scoped request
  name?: string;
}

/** Whether the rules grant a request (RBAC semantics without wildcards, which no Portico rule uses). */
function granted(rules: readonly ScopedRule[], c: Check): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.includes(c.group) &&
      r.resources.includes(c.resource) &&
      r.verbs.includes(c.verb) &&
      (r.namespace === undefined || r.namespace === c.namespace) &&
      (!r.resourceNames || (c.name !== undefined && r.resourceNames.includes(c.name))),
  );
}

const CLUSTER_SCOPED = new Set([
  'nodes', 'namespaces', 'persistentvolumes', 'clusterroles', 'clusterrolebindings', 'customresourcedefinitions', 'storageclasses',
  'apiservices', 'priorityclasses', 'ingressclasses', 'validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'csidrivers', 'runtimeclasses',
]);

/** The request matrix for one app: every verb on every resource it names, plus Secrets and ConfigMaps. */
function matrix(rules: readonly ScopedRule[]): Check[] {
  const resources = new Map<string, { group: string; resource: string; names: Set<string> }>();
  for (const r of rules) {
    for (const g of r.apiGroups) {
      for (const res of r.resources) {
        const e = resources.get(`${g}/${res}`) ?? { group: g, resource: res, names: new Set<string>() };
        for (const n of r.resourceNames ?? []) e.names.add(n);
        resources.set(`${g}/${res}`, e);
      }
    }
  }
  resources.set('/secrets', { group: '', resource: 'secrets', names: new Set() });
  resources.set('/configmaps', { group: '', resource: 'configmaps', names: new Set() });
  const verbs = [...new Set([...VERBS, ...rules.flatMap((r) => r.verbs)])];
  const checks: Check[] = [];
  for (const { group, resource, names } of resources.values()) {
    const scopes = CLUSTER_SCOPED.has(resource.split('/')[0]!) ? [undefined] : [NS, LB_NS, OTHER_NS];
    const nameVariants = [undefined, ...names, ...(names.size > 0 ? ['not-granted-name'] : [])];
    for (const verb of verbs) {
      for (const namespace of scopes) {
        for (const name of nameVariants) checks.push({ group, resource, verb, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) });
      }
    }
  }
  return checks;
}

/** Asks the API server about every check in one `kubectl create` of a List of SubjectAccessReviews. */
function review(sa: string, checks: readonly Check[]): boolean[] {
  const items = checks.map((c) => {
    const [resource, subresource] = c.resource.split('/');
    return {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${NS}:${sa}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: { group: c.group, resource, verb: c.verb, ...(subresource ? { subresource } : {}), ...(c.namespace ? { namespace: c.namespace } : {}), ...(c.name ? { name: c.name } : {}) },
      },
    };
  });
  // One line per review, in order (kubectl prints each created object with the template).
  const out = kubectl(['create', '-o', 'go-template={{.status.allowed}}{{"\\n"}}', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const lines = out.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, checks.length, out);
  return lines.map((l) => {
    assert.match(l, /^(true|false)$/);
    return l === 'true';
  });
}

function describeCheck(c: Check): string {
  return `${c.verb} ${c.group ? `${c.resource}.${c.group}` : c.resource}${c.name ? `/${c.name}` : ''}${c.namespace ? ` in ${c.namespace}` : ' (cluster)'}`;
}

const apps = RBAC_APPS.filter((a) => existsSync(join(REPO, 'apps', a, 'rbac.yaml')));

describe('helm install of the chart on T2 (RBAC enforced)', () => {
  let manifest: K8sObject[] = [];

  beforeAll(() => {
    if (!process.env['KUBECONFIG']) throw new Error('KUBECONFIG is not set: run through tools/test/run-tier.sh t2 (it starts e2e/t2/up)');
    if (!existsSync(KUBECTL)) throw new Error(`prerequisite missing: ${KUBECTL} (run: bash tools/k8s/build-tools)`);
    const sets = apps.map((a) => `${VALUE_KEYS[a]}.enabled=true`);
    const r = helm(['install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', '--set', `serviceLB.namespace=${LB_NS}`, '--set', 'serviceLB.createNamespace=true', ...sets.flatMap((s) => ['--set', s]), '--timeout', '2m']);
    assert.equal(r.code, 0, `helm install failed:\n${r.stdout}\n${r.stderr}`);
    manifest = parseObjects(helm(['get', 'manifest', RELEASE, '--namespace', NS]).stdout);
  });

  afterAll(() => {
    // Best effort when a test failed before the uninstall test ran (no hooks: see below).
    helm(['uninstall', RELEASE, '--namespace', NS, '--no-hooks', '--wait', '--timeout', '2m']);
    try {
      kubectl(['delete', 'namespace', NS, LB_NS, '--ignore-not-found', '--wait=false']);
    } catch {
      // already gone
    }
  });

  it('installs every component whose RBAC exists, and the LB namespace labelled PodSecurity privileged', () => {
    const deployed = new Set(manifest.map((o) => o.metadata.labels?.['app.kubernetes.io/name']).filter(Boolean));
    for (const a of apps) assert.ok(deployed.has(a), `${a} not installed`);
    const ns = JSON.parse(kubectl(['get', 'namespace', LB_NS, '-o', 'json'])) as K8sObject;
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
  });

  it('Helm 4 applied the objects server-side (field manager "helm", operation Apply)', () => {
    const d = JSON.parse(kubectl(['get', 'deployment', 'portico-servicelb-controller', '-n', NS, '-o', 'json', '--show-managed-fields'])) as K8sObject;
    const managers = (d.metadata['managedFields'] as { manager: string; operation: string }[]).map((m) => `${m.manager}:${m.operation}`);
    assert.ok(managers.includes('helm:Apply'), managers.join(', '));
  });

  it('kubectl auth can-i: servicelb-controller may do its job and nothing near it', () => {
    const sa = 'portico-servicelb-controller';
    assert.equal(canI(sa, 'list', 'services', OTHER_NS), true);
    assert.equal(canI(sa, 'patch', 'services/status', OTHER_NS), true);
    assert.equal(canI(sa, 'create', 'daemonsets.apps', LB_NS), true);
    assert.equal(canI(sa, 'get', `namespaces/${LB_NS}`), true);
    assert.equal(canI(sa, 'update', 'leases.coordination.k8s.io/portico-servicelb-controller', NS), true);
    assert.equal(canI(sa, 'create', 'daemonsets.apps', OTHER_NS), false);
    assert.equal(canI(sa, 'update', 'services', OTHER_NS), false);
    assert.equal(canI(sa, 'delete', 'services', OTHER_NS), false);
    assert.equal(canI(sa, 'get', 'namespaces/kube-system'), false);
    assert.equal(canI(sa, 'update', 'leases.coordination.k8s.io/another-lease', NS), false);
    assert.equal(canI(sa, 'get', 'secrets', NS), false);
  });

  it('kubectl auth can-i: netpol-agent reads and records Events, nothing more', () => {
    const sa = 'portico-netpol-agent';
    assert.equal(canI(sa, 'watch', 'networkpolicies.networking.k8s.io', OTHER_NS), true);
    assert.equal(canI(sa, 'list', 'pods', OTHER_NS), true);
    assert.equal(canI(sa, 'get', 'nodes'), true);
    assert.equal(canI(sa, 'update', 'pods', OTHER_NS), false);
    assert.equal(canI(sa, 'patch', 'nodes'), false);
    assert.equal(canI(sa, 'create', 'events', OTHER_NS), true);
    assert.equal(canI(sa, 'delete', 'events', OTHER_NS), false);
    assert.equal(canI(sa, 'list', 'secrets', OTHER_NS), false);
  });

  for (const app of apps) {
    it(`${app}: the API server grants exactly what apps/${app}/rbac.yaml grants (SubjectAccessReview matrix)`, () => {
      const rules = scopedRules(app);
      const checks = matrix(rules);
      const answers = review(`portico-${app}`, checks);
      const wrong = checks.flatMap((c, i) => (answers[i] === granted(rules, c) ? [] : [`${describeCheck(c)}: API says ${answers[i] ? 'allowed' : 'denied'}, rbac.yaml says ${granted(rules, c) ? 'allowed' : 'denied'}`]));
      assert.deepEqual(wrong, []);
      const allowed = answers.filter(Boolean).length;
      assert.ok(allowed > 0 && allowed < checks.length, `${allowed} of ${checks.length} allowed: the matrix must have both`);
    });
  }

  it('PodSecurity: servicelb-controller and addon-manager pods pass "restricted"; netpol-agent and ccm need "privileged"', () => {
    const restricted = `${ID}-restricted`;
    kubectl(['create', 'namespace', restricted]);
    try {
      // The ServiceAccount admission wants the namespace's default ServiceAccount (the controller-manager makes it).
      for (let i = 0; kubectl(['get', 'serviceaccount', 'default', '-n', restricted, '--ignore-not-found', '-o', 'name']).trim() === ''; i++) {
        if (i > 100) throw new Error(`no default ServiceAccount in ${restricted} after 10 s`);
        execFileSync('sleep', ['0.1']);
      }
      kubectl(['label', 'namespace', restricted, 'pod-security.kubernetes.io/enforce=restricted']);
      const verdicts: Record<string, string> = {};
      for (const w of manifest.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
        const template = (w['spec'] as { template: { metadata: object; spec: Record<string, unknown> } }).template;
        // Only PodSecurity is asked here: no ServiceAccount of that name exists in this namespace.
        const { serviceAccountName: _sa, ...spec } = template.spec;
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: `psa-${w.metadata.name}`, namespace: restricted }, spec: { ...spec, automountServiceAccountToken: false } };
        try {
          kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
          verdicts[w.metadata.name] = 'admitted';
        } catch (e) {
          assert.match((e as Error).message, /violates PodSecurity "restricted/, (e as Error).message);
          verdicts[w.metadata.name] = 'rejected';
        }
      }
      const want: Record<string, string> = { 'portico-servicelb-controller': 'admitted', 'portico-netpol-agent': 'rejected' };
      if (apps.includes('ccm')) want['portico-ccm'] = 'rejected';
      if (apps.includes('addon-manager')) want['portico-addon-manager'] = 'admitted';
      assert.deepEqual(verdicts, want);
    } finally {
      kubectl(['delete', 'namespace', restricted, '--wait=false']);
    }
  });

  it('helm uninstall removes the release: ClusterRoles, bindings, workloads and the LB namespace', () => {
    // --no-hooks: T2's kwok nodes run no containers, so the uninstall cleanup Jobs would never
    // finish here. The hooks run for real in the kind e2e tier (e2e/test/kind/portico.test.ts) and
    // their templates are pinned by deploy/src/chart.test.ts.
    const r = helm(['uninstall', RELEASE, '--namespace', NS, '--no-hooks', '--wait', '--timeout', '2m']);
    assert.equal(r.code, 0, r.stderr);
    for (const o of manifest.filter((x) => x.kind === 'ClusterRole' || x.kind === 'ClusterRoleBinding')) {
      const left = kubectl(['get', o.kind.toLowerCase(), o.metadata.name, '--ignore-not-found', '-o', 'name']).trim();
      assert.equal(left, '', `${o.kind}/${o.metadata.name} left behind`);
    }
    const deployments = kubectl(['get', 'deployments,daemonsets', '-n', NS, '-o', 'name']).trim();
    assert.equal(deployments, '');
    const ns = kubectl(['get', 'namespace', LB_NS, '--ignore-not-found', '-o', 'jsonpath={.status.phase}']).trim();
    assert.ok(ns === '' || ns === 'Terminating', `LB namespace is ${ns}`);
  });
});
