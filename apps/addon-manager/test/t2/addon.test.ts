// T2: addon-manager's Addon loop as a real process against a real control plane, with a token of
// exactly the ServiceAccount rbac.yaml grants. One item of spec §7 (AddOn controller) per test,
// named by its number. Run: T2_KEEP=1 bash tools/test/run-tier.sh t2 apps/addon-manager/test/t2/addon.test.ts

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { Resources, type KubeObject } from '@portico/kube';
import { applySetId, wranglerSetHash } from '@portico/addon';
import { delay, eventually, type LoggedProcess } from '@portico/testing';
import { AddonRes, HelmChartRes, Suite, type Addon } from './fixture.ts';

let suite: Suite;
let mgr: LoggedProcess;
let p: string; // suite prefix: every file and cluster-scoped name starts with it

interface Cm extends KubeObject {
  data?: Record<string, string>;
}

const cm = (name: string, ns: string | undefined, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}${labels ? `  labels: ${JSON.stringify(labels)}\n` : ''}data: ${JSON.stringify(data)}\n`;
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function getCm(ns: string, name: string): Promise<Cm | undefined> {
  return suite.getOrUndefined<Cm>(Resources.ConfigMap, ns, name);
}

async function applied(name: string, text: string): Promise<Addon> {
  return eventually(async () => {
    const a = await suite.addon(name);
    assert.ok(a, `Addon ${name} missing`);
    assert.equal(a.spec?.checksum, sha(text), `Addon ${name} checksum`);
    return a;
  }, `Addon ${name} applied`);
}

function failWithLog(err: unknown): never {
  throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${mgr.logFile}\n${mgr.tail(30)}`, { cause: err });
}

describe('addon-manager Addon loop on T2', () => {
  beforeAll(async () => {
    suite = await Suite.create();
    p = suite.prefix;
    mgr = await suite.startManager();
    await mgr.ready();
  });
  afterAll(async () => {
    await suite?.cleanup();
  });

  it('RBAC: the ServiceAccount may do what the manager needs and no more (kubectl auth can-i)', async () => {
    const allowed: [string, string, string?][] = [
      ['create', 'addons.k3s.cattle.io', 'kube-system'],
      ['patch', 'addons.k3s.cattle.io', 'kube-system'],
      ['patch', 'configmaps', suite.ns.app],
      ['delete', 'configmaps', suite.ns.app],
      ['list', 'namespaces'],
      ['create', 'jobs.batch', suite.ns.app],
      ['create', 'events', 'kube-system'],
    ];
    const denied: [string, string, string?][] = [
      ['get', 'pods', 'kube-system'],
      ['delete', 'nodes'],
      ['update', 'leases.coordination.k8s.io', 'kube-system'],
      ['create', 'pods', suite.ns.app],
      ['impersonate', 'users'],
      ['create', 'tokenreviews.authentication.k8s.io'],
    ];
    for (const [verb, res, ns] of allowed) assert.equal(await suite.canI(verb, res, ns), true, `${verb} ${res} in ${ns ?? 'all'} should be allowed`);
    for (const [verb, res, ns] of denied) assert.equal(await suite.canI(verb, res, ns), false, `${verb} ${res} in ${ns ?? 'all'} should be denied`);
  });

  const appText1 = (): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${p}-demo\n  namespace: foo\n---\n${cm('c1', `${p}-demo`)}---\n${cm(`${p}-dflt`, undefined)}`;
  const appText2 = (): string => `${appText1()}---\n${cm('c2', `${p}-demo`)}`;

  it('§7.1, §7.5, §7.6: a manifest becomes an Addon; objects carry the wrangler and ApplySet markers; events', async () => {
    try {
      const text = appText1();
      const path = suite.write(`${p}-app.yaml`, text);
      const a = await applied(`${p}-app`, text);
      assert.equal(a.spec?.source, path);
      assert.equal(a.metadata?.annotations?.['addon.k3s.cattle.io/gvks'], '/v1, Kind=Namespace;/v1, Kind=ConfigMap');
      const c1 = await getCm(`${p}-demo`, 'c1');
      assert.ok(c1);
      assert.deepEqual(
        Object.fromEntries(Object.entries(c1.metadata!.annotations!).filter(([k]) => k.startsWith('objectset.'))),
        {
          'objectset.rio.cattle.io/id': '',
          'objectset.rio.cattle.io/owner-gvk': 'k3s.cattle.io/v1, Kind=Addon',
          'objectset.rio.cattle.io/owner-name': `${p}-app`,
          'objectset.rio.cattle.io/owner-namespace': 'kube-system',
        },
      );
      assert.equal(c1.metadata!.labels!['objectset.rio.cattle.io/hash'], wranglerSetHash(`${p}-app`));
      assert.equal(c1.metadata!.labels!['applyset.kubernetes.io/part-of'], applySetId(`${p}-app`));
      assert.ok(c1.metadata!.managedFields!.some((f) => f.manager === 'portico-addon-manager' && f.operation === 'Apply'));
      // §7.5: no namespace -> default; §7.6: cluster-scoped object with a namespace -> created without one.
      assert.ok(await getCm('default', `${p}-dflt`), 'namespaced object without namespace goes to default');
      const ns = await suite.getOrUndefined<KubeObject>(Resources.Namespace, undefined, `${p}-demo`);
      assert.equal(ns?.metadata?.namespace, undefined);
      await eventually(async () => {
        assert.equal((await suite.events(`${p}-app`, 'ApplyingManifest')).length, 1);
        const ev = await suite.events(`${p}-app`, 'AppliedManifest');
        assert.equal(ev.length, 1);
        assert.equal(ev[0]!.source?.component, 'deploy');
        assert.equal(ev[0]!.message, `Applied manifest at "${path}"`);
      }, 'ApplyingManifest and AppliedManifest events');
      const status = (await suite.addon(`${p}-app`))!.status!;
      assert.equal(status.conditions?.find((c) => c.type === 'Applied')?.status, 'True');
    } catch (err) {
      failWithLog(err);
    }
  });

  it('§7.2: an appended object is created, the checksum updated, the others unchanged', async () => {
    const before1 = await getCm(`${p}-demo`, 'c1');
    const text = appText2();
    suite.write(`${p}-app.yaml`, text);
    await applied(`${p}-app`, text);
    assert.ok(await getCm(`${p}-demo`, 'c2'));
    const after1 = await getCm(`${p}-demo`, 'c1');
    assert.equal(after1?.metadata?.resourceVersion, before1?.metadata?.resourceVersion, 'c1 not rewritten');
  });

  it('§7.3: an object removed from the file is pruned; gvks lists only kinds still in the file', async () => {
    const text = `${cm('c1', `${p}-demo`)}`;
    suite.write(`${p}-app.yaml`, text);
    const a = await applied(`${p}-app`, text);
    await eventually(async () => assert.equal(await getCm(`${p}-demo`, 'c2'), undefined), 'c2 deleted');
    assert.ok(await getCm(`${p}-demo`, 'c1'));
    // The Namespace left the file too: it is pruned (wrangler prunes remembered kinds).
    assert.equal(a.metadata?.annotations?.['addon.k3s.cattle.io/gvks'], '/v1, Kind=ConfigMap');
    await eventually(async () => assert.equal(await getCm('default', `${p}-dflt`), undefined), 'default/dflt deleted');
  });

  it('§7.4: touching a file without changing it applies nothing', async () => {
    const count = (await suite.events(`${p}-app`, 'ApplyingManifest'))[0]?.count ?? 0;
    const logCount = mgr.logLines().filter((l) => l['event'] === 'applying' && l['file'] === `${p}-app.yaml`).length;
    const now = new Date();
    utimesSync(join(suite.dir, `${p}-app.yaml`), now, now);
    await delay(1500);
    assert.equal(mgr.logLines().filter((l) => l['event'] === 'applying' && l['file'] === `${p}-app.yaml`).length, logCount);
    assert.equal((await suite.events(`${p}-app`, 'ApplyingManifest'))[0]?.count ?? 0, count);
  });

  it('§7.7: .json and .YAML are applied; .txt, dot files and README are not', async () => {
    suite.write(`${p}-x.json`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fromjson', namespace: suite.ns.app }, data: { a: 'b' } }));
    suite.write(`${p}-y.YAML`, cm('fromupper', suite.ns.app));
    suite.write(`${p}-z.txt`, cm('fromtxt', suite.ns.app));
    suite.write(`.${p}-hidden.yaml`, cm('fromhidden', suite.ns.app));
    suite.write(`${p}-README`, cm('fromreadme', suite.ns.app));
    await eventually(async () => {
      assert.ok(await getCm(suite.ns.app, 'fromjson'));
      assert.ok(await getCm(suite.ns.app, 'fromupper'));
    }, 'json and YAML applied');
    await delay(1000);
    for (const n of ['fromtxt', 'fromhidden', 'fromreadme']) assert.equal(await getCm(suite.ns.app, n), undefined, n);
    for (const n of [`${p}-z`, `.${p}-hidden`, `${p}-README`]) assert.equal(await suite.addon(n), undefined, n);
  });

  it('§7.8: a kind: List is flattened', async () => {
    suite.write(`${p}-list.yaml`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l1', namespace: suite.ns.app } })), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l2', namespace: suite.ns.app } }] }));
    await eventually(async () => {
      assert.ok(await getCm(suite.ns.app, 'l1'));
      assert.ok(await getCm(suite.ns.app, 'l2'));
    }, 'both list items');
  });

  it('§7.9: a document without kind: ParseManifestFailed, nothing applied, the fixed file applied', async () => {
    const bad = `${cm('pgood', suite.ns.app)}---\napiVersion: v1\nmetadata: {name: nokind}\n`;
    suite.write(`${p}-parse.yaml`, bad);
    const ev = await eventually(async () => {
      const e = await suite.events(`${p}-parse`, 'ParseManifestFailed');
      assert.equal(e.length, 1);
      return e[0]!;
    }, 'ParseManifestFailed');
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message!, new RegExp(`Parsing manifest at ".*${p}-parse.yaml" failed: document 2: Object 'Kind' is missing`));
    assert.equal(await getCm(suite.ns.app, 'pgood'), undefined, 'nothing of the file applied');
    const a = await suite.addon(`${p}-parse`);
    assert.equal(a?.status?.conditions?.[0]?.reason, 'ParseManifestFailed');
    const good = cm('pgood', suite.ns.app);
    suite.write(`${p}-parse.yaml`, good);
    await applied(`${p}-parse`, good);
    assert.ok(await getCm(suite.ns.app, 'pgood'));
  });

  it('§7.10: an object the apiserver rejects: ApplyManifestFailed, checksum not updated, the valid object exists', async () => {
    const text = `${cm('valid', suite.ns.app)}---\napiVersion: v1\nkind: Service\nmetadata: {name: rejected, namespace: ${suite.ns.app}}\nspec: {ports: [{port: 0}]}\n`;
    suite.write(`${p}-reject.yaml`, text);
    const ev = await eventually(async () => (await suite.events(`${p}-reject`, 'ApplyManifestFailed'))[0] ?? assert.fail('no event'), 'ApplyManifestFailed');
    assert.match(ev.message!, /v1 Service .*\/rejected: /);
    assert.ok(await getCm(suite.ns.app, 'valid'));
    const a = await suite.addon(`${p}-reject`);
    assert.equal(a?.spec?.checksum, undefined);
    assert.equal(a?.status?.conditions?.[0]?.status, 'False');
    assert.match(a?.status?.conditions?.[0]?.message ?? '', /rejected/);
  });

  it('§7.13: with X.skip, changes of X are not applied and its objects stay', async () => {
    const text = cm('skipme', suite.ns.app, { v: '1' });
    suite.write(`${p}-skip.yaml`, text);
    await applied(`${p}-skip`, text);
    suite.write(`${p}-skip.yaml.skip`, '');
    suite.write(`${p}-skip.yaml`, cm('skipme', suite.ns.app, { v: '2' }));
    await delay(1500);
    assert.equal((await getCm(suite.ns.app, 'skipme'))?.data?.['v'], '1');
    assert.equal((await suite.addon(`${p}-skip`))?.spec?.checksum, sha(text));
  });

  it('§7.20: a second file with the same Addon name is refused with an event; the first is untouched', async () => {
    const first = cm('dup1', suite.ns.app);
    suite.write(`a/${p}-dup.yaml`, first);
    await applied(`${p}-dup`, first);
    suite.write(`b/${p}-dup.yaml`, cm('dup2', suite.ns.app));
    const ev = await eventually(async () => (await suite.events(`${p}-dup`, 'DuplicateAddonName'))[0] ?? assert.fail('no event'), 'DuplicateAddonName');
    assert.match(ev.message!, new RegExp(`b/${p}-dup.yaml.*already belongs to .*a/${p}-dup.yaml`));
    await delay(800);
    assert.ok(await getCm(suite.ns.app, 'dup1'));
    assert.equal(await getCm(suite.ns.app, 'dup2'), undefined);
    assert.equal((await suite.addon(`${p}-dup`))?.spec?.source, join(suite.dir, `a/${p}-dup.yaml`));
  });

  it('§7.21: an unserved kind beside a ConfigMap: the ConfigMap applied, a Warning names the kind', async () => {
    suite.write(`${p}-unserved.yaml`, `apiVersion: nothere.portico.io/v1\nkind: Gizmo\nmetadata: {name: g, namespace: ${suite.ns.app}}\n---\n${cm('served', suite.ns.app)}`);
    await eventually(async () => assert.ok(await getCm(suite.ns.app, 'served')), 'ConfigMap applied');
    const ev = await eventually(async () => (await suite.events(`${p}-unserved`, 'ApplyManifestFailed'))[0] ?? assert.fail('no event'), 'Warning');
    assert.match(ev.message!, /nothere\.portico\.io\/v1 Gizmo .*: kind not served by the API server/);
  });

  it('§7.22: an object labelled prune: "false" that leaves the file is not deleted', async () => {
    const two = `${cm('pf1', suite.ns.app)}---\n${cm('pf2', suite.ns.app, { k: 'v' }, { 'objectset.rio.cattle.io/prune': 'false' })}`;
    suite.write(`${p}-prunefalse.yaml`, two);
    await applied(`${p}-prunefalse`, two);
    const one = cm('pf1', suite.ns.app);
    suite.write(`${p}-prunefalse.yaml`, one);
    await applied(`${p}-prunefalse`, one);
    await delay(500);
    assert.ok(await getCm(suite.ns.app, 'pf2'));
  });

  it('§7.23: objects K3s created (wrangler markers, Update-owned fields) are adopted, UIDs unchanged, and pruned later', async () => {
    const name = `${p}-k3s`;
    const labels = { 'objectset.rio.cattle.io/hash': wranglerSetHash(name) };
    const annotations = { 'objectset.rio.cattle.io/id': '', 'objectset.rio.cattle.io/owner-gvk': 'k3s.cattle.io/v1, Kind=Addon', 'objectset.rio.cattle.io/owner-name': name, 'objectset.rio.cattle.io/owner-namespace': 'kube-system', 'objectset.rio.cattle.io/applied': 'H4sIAAAAAAAA' };
    const k1 = await suite.admin.create<Cm>(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k1', namespace: suite.ns.app, labels, annotations }, data: { k: 'old' } }, { fieldManager: 'k3s' });
    const k2 = await suite.admin.create<Cm>(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k2', namespace: suite.ns.app, labels, annotations }, data: { k: 'old' } }, { fieldManager: 'k3s' });
    await suite.admin.create(AddonRes, { apiVersion: 'k3s.cattle.io/v1', kind: 'Addon', metadata: { name, namespace: 'kube-system', annotations: { 'addon.k3s.cattle.io/gvks': '/v1, Kind=ConfigMap' } }, spec: { source: '/var/lib/rancher/k3s/server/manifests/x.yaml', checksum: 'abc' } } as KubeObject, { fieldManager: 'k3s' });
    const both = `${cm('k1', suite.ns.app, { k: 'new' })}---\n${cm('k2', suite.ns.app, { k: 'new' })}`;
    suite.write(`${name}.yaml`, both);
    await applied(name, both);
    const a1 = await getCm(suite.ns.app, 'k1');
    assert.equal(a1?.metadata?.uid, k1.metadata?.uid);
    assert.equal(a1?.data?.['k'], 'new');
    assert.equal(a1?.metadata?.annotations?.['objectset.rio.cattle.io/applied'], 'H4sIAAAAAAAA', 'the applied annotation is left for K3s');
    const one = cm('k1', suite.ns.app, { k: 'new' });
    suite.write(`${name}.yaml`, one);
    await applied(name, one);
    await eventually(async () => assert.equal(await getCm(suite.ns.app, 'k2'), undefined), 'k2 (created by K3s) pruned');
    assert.equal((await getCm(suite.ns.app, 'k1'))?.metadata?.uid, k1.metadata?.uid);
    void k2;
  });

  it('a conflict on a user manifest: another manager owns the field, ApplyManifestFailed names it, the object keeps its value', async () => {
    await suite.admin.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'contested', namespace: suite.ns.app }, data: { k: 'theirs' } } as KubeObject, { fieldManager: 'someone-else' });
    suite.write(`${p}-conflict.yaml`, cm('contested', suite.ns.app, { k: 'mine' }));
    const ev = await eventually(async () => (await suite.events(`${p}-conflict`, 'ApplyManifestFailed'))[0] ?? assert.fail('no event'), 'ApplyManifestFailed');
    assert.match(ev.message!, /contested: .*someone-else/);
    assert.equal((await getCm(suite.ns.app, 'contested'))?.data?.['k'], 'theirs');
  });

  it('a projected-ConfigMap layout: a ..data swap that changes the content is applied (decided by checksum)', async () => {
    const { mkdirSync, renameSync, symlinkSync, writeFileSync } = await import('node:fs');
    const d = join(suite.dir, `${p}-projected`);
    mkdirSync(join(d, '..v1'), { recursive: true });
    writeFileSync(join(d, '..v1', `${p}-proj.yaml`), cm('projected', suite.ns.app, { v: '1' }));
    symlinkSync('..v1', join(d, '..data'));
    symlinkSync(`..data/${p}-proj.yaml`, join(d, `${p}-proj.yaml`));
    await eventually(async () => assert.equal((await getCm(suite.ns.app, 'projected'))?.data?.['v'], '1'), 'v1 applied');
    mkdirSync(join(d, '..v2'));
    writeFileSync(join(d, '..v2', `${p}-proj.yaml`), cm('projected', suite.ns.app, { v: '2' }));
    symlinkSync('..v2', join(d, '..data_tmp'));
    renameSync(join(d, '..data_tmp'), join(d, '..data'));
    await eventually(async () => assert.equal((await getCm(suite.ns.app, 'projected'))?.data?.['v'], '2'), 'v2 applied after the swap');
  });

  it('§7.12 (Portico default): a deleted file: Warning SourceRemoved, then objects and Addon removed after the grace period', async () => {
    const text = cm('gone1', suite.ns.app);
    suite.write(`${p}-gone.yaml`, text);
    await applied(`${p}-gone`, text);
    suite.remove(`${p}-gone.yaml`);
    await eventually(async () => assert.equal((await suite.events(`${p}-gone`, 'SourceRemoved')).length, 1), 'SourceRemoved event');
    assert.ok(await getCm(suite.ns.app, 'gone1'), 'still there during the grace period');
    await eventually(async () => {
      assert.equal(await getCm(suite.ns.app, 'gone1'), undefined);
      assert.equal(await suite.addon(`${p}-gone`), undefined);
    }, 'objects and Addon removed', 15_000);
    assert.equal((await suite.events(`${p}-gone`, 'DeletingManifest')).length, 1);
  });

  it('§4 one writer: a second replica waits on the Lease and takes over when the first stops', async () => {
    const second = await suite.startManager({ identity: 'standby' });
    await second.ready();
    assert.equal(await second.metric('portico_addon_leader'), 0);
    assert.equal(await mgr.metric('portico_addon_leader'), 1);
    await mgr.stop();
    await eventually(async () => assert.equal(await second.metric('portico_addon_leader'), 1), 'standby leads', 15_000);
    const text = cm('after-failover', suite.ns.app);
    suite.write(`${p}-failover.yaml`, text);
    await applied(`${p}-failover`, text);
    mgr = second;
  });

  it('§7.11: after a restart, a field the manifest sets is restored; an extra label is kept', async () => {
    const text = cm('edited', suite.ns.app, { k: 'from-file' });
    suite.write(`${p}-edit.yaml`, text);
    await applied(`${p}-edit`, text);
    await suite.admin.patch(Resources.ConfigMap, { namespace: suite.ns.app, name: 'edited' }, { metadata: { labels: { extra: 'kept' } }, data: { k: 'by-hand' } }, { type: 'merge', fieldManager: 'kubectl-edit' });
    await mgr.stop();
    mgr = await suite.startManager({ identity: 'restarted' });
    await mgr.ready();
    await eventually(async () => {
      const c = await getCm(suite.ns.app, 'edited');
      assert.equal(c?.data?.['k'], 'from-file');
      assert.equal(c?.metadata?.labels?.['extra'], 'kept');
    }, 'field restored after restart', 20_000);
  });

  it('§7.12 (K3s mode, --on-source-removed orphan): a deleted file leaves Addon and objects', async () => {
    await mgr.stop();
    mgr = await suite.startManager({ identity: 'orphan', args: ['--on-source-removed', 'orphan'] });
    await mgr.ready();
    const text = cm('orphan1', suite.ns.app);
    suite.write(`${p}-orphan.yaml`, text);
    await applied(`${p}-orphan`, text);
    suite.remove(`${p}-orphan.yaml`);
    await delay(4000);
    assert.ok(await getCm(suite.ns.app, 'orphan1'));
    assert.ok(await suite.addon(`${p}-orphan`));
    assert.equal((await suite.events(`${p}-orphan`, 'SourceRemoved')).length, 0);
  });

  it('§7.14, §7.15: --disable while the file exists deletes every object (also kinds only in the annotation), the file and the Addon; a restart without both re-creates nothing', async () => {
    await mgr.stop();
    mgr = await suite.startManager({ identity: 'before-disable' });
    await mgr.ready();
    const text = `${cm('d1', suite.ns.app)}---\napiVersion: v1\nkind: Secret\nmetadata: {name: ds, namespace: ${suite.ns.app}}\nstringData: {a: b}\n`;
    suite.write(`${p}-dis.yaml`, text);
    await applied(`${p}-dis`, text);
    // The Secret leaves the file while the manager is stopped: only the Addon's annotation still
    // remembers Secrets, and disable must delete it anyway (spec B3).
    await mgr.stop();
    suite.write(`${p}-dis.yaml`, cm('d1', suite.ns.app));
    mgr = await suite.startManager({ identity: 'disable', args: ['--disable', `${p}-dis`] });
    await mgr.ready();
    await eventually(async () => {
      assert.equal(await getCm(suite.ns.app, 'd1'), undefined);
      assert.equal(await suite.getOrUndefined(Resources.Secret, suite.ns.app, 'ds'), undefined);
      assert.equal(await suite.addon(`${p}-dis`), undefined);
      assert.equal(existsSync(join(suite.dir, `${p}-dis.yaml`)), false);
    }, 'disabled Addon removed', 20_000);
    assert.equal((await suite.events(`${p}-dis`, 'DeletingManifest')).length, 1);
    await mgr.stop();
    mgr = await suite.startManager({ identity: 'after-disable' });
    await mgr.ready();
    await delay(1500);
    assert.equal(await suite.addon(`${p}-dis`), undefined);
    assert.equal(await getCm(suite.ns.app, 'd1'), undefined);
  });
});

describe('addon-manager packaged components on T2', () => {
  let s: Suite;
  let m: LoggedProcess;
  beforeAll(async () => {
    s = await Suite.create();
  });
  afterAll(async () => {
    await m?.stop();
    // Whatever happened above, the packaged APIService must not outlive the test: an unavailable
    // aggregated API stalls namespace deletion for every other suite on the cluster.
    const apiService = { group: 'apiregistration.k8s.io', version: 'v1', plural: 'apiservices', kind: 'APIService', namespaced: false };
    await s?.admin.delete(apiService, { name: 'v1beta1.metrics.k8s.io' }).catch(() => undefined);
    await s?.cleanup();
  });

  it('§7.18, §7.19, §7.16, §7.17: staged with DNS/domain/registry, rewritten at restart, every packaged component removed by --disable', async () => {
    const dns = `10.96.${100 + Math.floor(Math.random() * 150)}.${10 + Math.floor(Math.random() * 200)}`;
    const args = ['--cluster-dns', dns, '--cluster-domain', 'cluster.local', '--system-default-registry', 'reg.io'];
    // The packaged manifests live in kube-system under fixed names: only one suite may stage them.
    m = await s.startManager({ identity: 'packaged', args, stagePackaged: true });
    await m.ready();
    try {
      await eventually(async () => {
        for (const n of ['coredns', 'local-storage', 'traefik', 'aggregated-metrics-reader', 'auth-delegator', 'auth-reader', 'metrics-apiservice', 'metrics-server-deployment', 'metrics-server-service', 'resource-reader']) {
          const a = await s.addon(n);
          assert.ok(a?.spec?.checksum, `Addon ${n} applied`);
        }
      }, 'every packaged Addon applied', 60_000);
      const svc = await s.admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, { namespace: 'kube-system', name: 'kube-dns' });
      assert.equal(svc.spec.clusterIP, dns);
      const dep = await s.admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>(Resources.Deployment, { namespace: 'kube-system', name: 'coredns' });
      assert.match(dep.spec.template.spec.containers[0]!.image, /^reg\.io\//);
      const chart = await s.admin.get<KubeObject & { spec: { set: Record<string, string> } }>(HelmChartRes, { namespace: 'kube-system', name: 'traefik' });
      assert.equal(chart.spec.set['global.systemDefaultRegistry'], 'reg.io');
      // §7.18: a local edit of a packaged file is overwritten at restart and re-applied.
      await m.stop();
      s.write('coredns.yaml', (await import('node:fs')).readFileSync(join(s.dir, 'coredns.yaml'), 'utf8').replace('cache 30', 'cache 99'));
      m = await s.startManager({ identity: 'packaged2', args, stagePackaged: true });
      await m.ready();
      await eventually(async () => {
        const corefile = (await s.admin.get<Cm>(Resources.ConfigMap, { namespace: 'kube-system', name: 'coredns' })).data!['Corefile']!;
        assert.match(corefile, /cache 30/);
      }, 'packaged file restored');
      assert.doesNotMatch((await import('node:fs')).readFileSync(join(s.dir, 'coredns.yaml'), 'utf8'), /cache 99/);
      // --disable of every packaged component.
      await m.stop();
      m = await s.startManager({ identity: 'packaged-disabled', args: [...args, '--disable', 'coredns,traefik', '--disable', 'local-storage,metrics-server'], stagePackaged: true });
      await m.ready();
      await eventually(async () => {
        for (const n of ['coredns', 'local-storage', 'traefik', 'auth-reader', 'metrics-server-deployment']) assert.equal(await s.addon(n), undefined, `Addon ${n}`);
        assert.equal(await s.getOrUndefined(Resources.Deployment, 'kube-system', 'coredns'), undefined);
        assert.equal(await s.getOrUndefined(Resources.Service, 'kube-system', 'kube-dns'), undefined);
        assert.equal(await s.getOrUndefined(Resources.Deployment, 'kube-system', 'local-path-provisioner'), undefined);
        assert.equal(await s.getOrUndefined(Resources.Deployment, 'kube-system', 'metrics-server'), undefined);
        assert.equal(await s.getOrUndefined(HelmChartRes, 'kube-system', 'traefik'), undefined);
        assert.equal(await s.getOrUndefined(HelmChartRes, 'kube-system', 'traefik-crd'), undefined);
        assert.equal(existsSync(join(s.dir, 'coredns.yaml')), false);
        assert.equal(existsSync(join(s.dir, 'metrics-server/auth-reader.yaml')), false);
      }, 'packaged components removed', 60_000);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${m.logFile}\n${m.tail(30)}`, { cause: err });
    }
  });
});
