// T2 fixture for addon-manager: the CRDs (apps/addon-manager/crds), the RBAC of rbac.yaml renamed
// into a test-unique suite and bound to a ServiceAccount, a kubeconfig with that ServiceAccount's
// token, a temporary manifests directory, and manager processes from the bundled binary.
//
// Isolation: Addons live in kube-system (K3s's rule), so every manifest file of a suite starts
// with the suite prefix `am<5 chars>`; cluster-scoped objects carry it too. cleanup() deletes the
// suite's Addons, namespaces, cluster-scoped objects and directory, pass or fail.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { createKubeClient, isNotFound, Resources, type KubeObject, type LoadedKubeClient, type ResourceType } from '@portico/kube';
import { eventually, freeLocalPort, LoggedProcess, randomName, requireT2Kubeconfig, serviceAccountKubeconfig } from '@portico/testing';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const exec = promisify(execFile);

export const AddonRes: ResourceType = { group: 'k3s.cattle.io', version: 'v1', plural: 'addons', kind: 'Addon', namespaced: true };
export const HelmChartRes: ResourceType = { group: 'helm.cattle.io', version: 'v1', plural: 'helmcharts', kind: 'HelmChart', namespaced: true };
export const HelmChartConfigRes: ResourceType = { group: 'helm.cattle.io', version: 'v1', plural: 'helmchartconfigs', kind: 'HelmChartConfig', namespaced: true };
export const JobRes: ResourceType = { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true };

export interface Addon extends KubeObject {
  spec?: { source?: string; checksum?: string };
  status?: { observedChecksum?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
export interface CoreEvent extends KubeObject {
  reason?: string;
  type?: string;
  message?: string;
  count?: number;
  source?: { component?: string };
  involvedObject?: { kind?: string; name?: string; namespace?: string };
}

let built: Promise<string> | undefined;
/** Builds dist/apps/addon-manager/main.js once per test process. */
export function buildManager(): Promise<string> {
  built ??= exec(process.execPath, ['tools/build-app.mjs', 'addon-manager'], { cwd: REPO }).then(() => join(REPO, 'dist/apps/addon-manager/main.js'));
  return built;
}

/** Applies the three CRDs with the admin client and waits until they are served. */
export async function installCrds(admin: LoadedKubeClient): Promise<void> {
  const dir = join(REPO, 'apps/addon-manager/crds');
  for (const f of readdirSync(dir).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) await admin.apply(d.toJS() as KubeObject, { fieldManager: 'portico-t2-test', force: true });
  }
  await eventually(async () => {
    for (const name of ['addons.k3s.cattle.io', 'helmcharts.helm.cattle.io', 'helmchartconfigs.helm.cattle.io']) {
      const crd = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(Resources.CustomResourceDefinition, { name });
      assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), `${name} not established`);
    }
    await admin.list(AddonRes, { namespace: 'kube-system', limit: 1 });
  }, 'CRDs established');
}

export class Suite {
  readonly prefix: string;
  readonly ns: { readonly ctl: string; readonly app: string };
  readonly leaseName: string;
  readonly serviceAccount = 'portico-addon-manager';
  readonly admin: LoadedKubeClient;
  readonly adminKubeconfig: string;
  readonly dir: string;
  readonly logDir: string;
  kubeconfig = '';
  readonly #clusterScoped: { res: ResourceType; name: string }[] = [];
  readonly #procs = new Set<LoggedProcess>();

  private constructor(admin: LoadedKubeClient, kubeconfig: string) {
    this.prefix = `am${randomName()}`;
    this.ns = { ctl: `${this.prefix}-ctl`, app: `${this.prefix}-app` };
    this.leaseName = `${this.prefix}-lease`;
    this.admin = admin;
    this.adminKubeconfig = kubeconfig;
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-manifests-`));
    this.logDir = join(REPO, '.cache/test-results/addon-manager-t2', this.prefix);
    mkdirSync(this.logDir, { recursive: true });
  }

  static async create(): Promise<Suite> {
    const kc = requireT2Kubeconfig();
    const admin = await createKubeClient({ kubeconfig: kc, env: {} });
    const s = new Suite(admin, kc);
    await installCrds(admin);
    for (const name of Object.values(s.ns)) await admin.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'portico.io/test': s.prefix } } });
    for (const o of s.rbacObjects()) {
      await admin.apply(o, { fieldManager: 'portico-t2-test', force: true });
      if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') s.#clusterScoped.push({ res: o.kind === 'ClusterRole' ? Resources.ClusterRole : Resources.ClusterRoleBinding, name: o.metadata!.name! });
    }
    s.kubeconfig = await serviceAccountKubeconfig(admin, kc, s.ns.ctl, s.serviceAccount, join(s.logDir, 'manager.kubeconfig'));
    return s;
  }

  /** rbac.yaml with this suite's namespace, Lease and cluster-scoped names. */
  rbacObjects(opts: { jobClusterRole?: string } = {}): KubeObject[] {
    const objs = parseAllDocuments(readFileSync(join(REPO, 'apps/addon-manager/rbac.yaml'), 'utf8')).map((d) => d.toJS() as KubeObject & Record<string, unknown>);
    for (const o of objs) {
      const meta = o.metadata!;
      if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') meta.name = `${meta.name}-${this.prefix}`;
      if (meta.namespace) meta.namespace = this.ns.ctl;
      const roleRef = o['roleRef'] as { kind: string; name: string } | undefined;
      if (roleRef?.kind === 'ClusterRole') roleRef.name = `${roleRef.name}-${this.prefix}`;
      for (const sub of (o['subjects'] as { namespace?: string }[] | undefined) ?? []) sub.namespace = this.ns.ctl;
      for (const rule of (o['rules'] as { resources: string[]; resourceNames?: string[] }[] | undefined) ?? []) {
        if (rule.resources.includes('leases') && rule.resourceNames) rule.resourceNames = [this.leaseName];
        if (rule.resources.includes('clusterroles') && rule.resourceNames && opts.jobClusterRole) rule.resourceNames = [opts.jobClusterRole];
      }
    }
    return objs;
  }

  /** Registers a cluster-scoped object for cleanup. */
  track(res: ResourceType, name: string): void {
    this.#clusterScoped.push({ res, name });
  }

  /** Writes `text` to `<dir>/<rel>` (directories created). */
  write(rel: string, text: string): string {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  }

  remove(rel: string): void {
    rmSync(join(this.dir, rel), { force: true, recursive: true });
  }

  async startManager(opts: { identity?: string; args?: string[]; dir?: string; stagePackaged?: boolean; helm?: boolean } = {}): Promise<LoggedProcess> {
    const main = await buildManager();
    const port = await freeLocalPort();
    const identity = opts.identity ?? `m${this.#procs.size}`;
    const args = [
      main,
      'run',
      '--kubeconfig',
      this.kubeconfig,
      '--manifests-dir',
      opts.dir ?? this.dir,
      '--poll-interval',
      '300ms',
      `--stage-packaged=${opts.stagePackaged ?? false}`,
      `--helm-controller=${opts.helm ?? false}`,
      '--source-removed-grace-period',
      '2s',
      '--leader-elect-namespace',
      this.ns.ctl,
      '--lease-name',
      this.leaseName,
      '--leader-elect-identity',
      identity,
      '--leader-elect-lease-duration',
      '3s',
      '--leader-elect-renew-deadline',
      '2s',
      '--leader-elect-retry-period',
      '500ms',
      '--metrics-addr',
      `127.0.0.1:${port}`,
      '--log-level',
      'debug',
      ...(opts.args ?? []),
    ];
    const p = new LoggedProcess(process.execPath, args, { logFile: join(this.logDir, `manager-${identity}-${Date.now()}.log`), port, cwd: REPO });
    this.#procs.add(p);
    return p;
  }

  async addon(name: string): Promise<Addon | undefined> {
    try {
      return await this.admin.get<Addon>(AddonRes, { namespace: 'kube-system', name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getOrUndefined<T extends KubeObject>(res: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.admin.get<T>(res, { namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Events on Addon `name` (kube-system), optionally of one reason. */
  async events(name: string, reason?: string): Promise<CoreEvent[]> {
    const list = await this.admin.list<CoreEvent>(Resources.Event, { namespace: 'kube-system', fieldSelector: `involvedObject.name=${name}` });
    return list.items.filter((e) => e.involvedObject?.kind === 'Addon' && (reason === undefined || e.reason === reason));
  }

  /** `kubectl auth can-i` with the suite's ServiceAccount token: true = yes, false = no. */
  async canI(verb: string, resource: string, namespace?: string): Promise<boolean> {
    const args = ['--kubeconfig', this.kubeconfig, 'auth', 'can-i', verb, resource, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
    try {
      await exec(kubectlPath(), args);
      return true;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      assert.equal(e.code, 1, `kubectl auth can-i failed: ${e.stderr ?? String(err)}`);
      assert.equal(e.stdout?.trim(), 'no');
      return false;
    }
  }

  async cleanup(): Promise<void> {
    for (const p of this.#procs) await p.stop().catch(() => undefined);
    const quiet = async (f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (err) {
        if (!isNotFound(err)) console.error(`cleanup of ${this.prefix}:`, err);
      }
    };
    await quiet(async () => {
      const addons = await this.admin.list<Addon>(AddonRes, { namespace: 'kube-system' });
      for (const a of addons.items) if (a.metadata!.name!.startsWith(this.prefix)) await quiet(() => this.admin.delete(AddonRes, { namespace: 'kube-system', name: a.metadata!.name! }));
    });
    await quiet(async () => {
      const nss = await this.admin.list<KubeObject>(Resources.Namespace);
      for (const n of nss.items) if (n.metadata!.name!.startsWith(this.prefix)) await quiet(() => this.admin.delete(Resources.Namespace, { name: n.metadata!.name! }));
    });
    for (const c of this.#clusterScoped) await quiet(() => this.admin.delete(c.res, { name: c.name }));
    rmSync(this.dir, { recursive: true, force: true });
    this.admin.close();
  }
}

/** The kubectl binary of the T2 tools (fails loudly when missing). */
export function kubectlPath(): string {
  const p = join(REPO, '.cache/bin/kubectl');
  assert.ok(readdirSync(join(REPO, '.cache/bin')).includes('kubectl'), `kubectl missing at ${p}: run bash tools/k8s/build-tools`);
  return p;
}
