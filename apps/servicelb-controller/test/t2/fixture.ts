// T2 fixture for servicelb-controller: a test-unique set of namespaces, kwok nodes with known
// addresses, the controller's RBAC from rbac.yaml bound to a ServiceAccount, a kubeconfig holding a
// TokenRequest token of exactly that ServiceAccount, and controller processes started from the
// bundled binary (dist/apps/servicelb-controller/main.js). Shared by the T2 tests and the
// ingress-latency benchmark (bench/servicelb/ingress-latency.ts).
//
// Isolation: every name carries a random prefix `slbt2-<5 chars>`; node addresses come from a
// random 10.<r>.0.0/16 (and fd00:<r>::/32) that no other suite uses; cluster-scoped RBAC objects get
// the prefix too. Nodes and namespaces are deleted in cleanup(), pass or fail. Allow-list mode
// (`enablelb` node labels) is cluster-wide by K3s's design, so tests that use it label their own
// nodes only and remove the labels again.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKubeClient, isNotFound, Resources, type KubeObject, type LoadedKubeClient } from '@portico/kube';
import { buildApp, FAST_LEADER_ARGS, freeLocalPort, loadRbac, LoggedProcess, randomName, REPO, requireT2Kubeconfig, serviceAccountKubeconfig } from '@portico/testing';

// The names this suite and bench/servicelb use, for libs/testing's T2 helpers.
export { delay as sleep, eventually as waitFor, REPO, requireT2Kubeconfig as requireKubeconfig } from '@portico/testing';
const exec = promisify(execFile);

/** Builds the controller binary once per process (tools/build-app.mjs). */
export function buildController(): Promise<string> {
  return buildApp('servicelb-controller');
}

export interface NodeSpec {
  /** Name suffix; the node is `<prefix>-<name>`. */
  readonly name: string;
  /** Host number i: InternalIP 10.<r>.0.i, ExternalIP 10.<r>.1.i (and fd00:<r>::i, fd00:<r>:1::i with dualStack). */
  readonly host: number;
  readonly external?: boolean;
  readonly dualStack?: boolean;
  readonly labels?: Record<string, string>;
}

/** Names and addresses of one suite. */
export class Suite {
  readonly prefix: string;
  /** Second octet of the suite's IPv4 range 10.<r>.0.0/16 (and fd00:<r>::/32). */
  readonly r: number;
  readonly ns: { readonly ctl: string; readonly lb: string; readonly app: string };
  readonly leaseName: string;
  readonly serviceAccount = 'portico-servicelb-controller';
  readonly admin: LoadedKubeClient;
  readonly logDir: string;
  kubeconfig = '';
  readonly nodes: string[] = [];
  readonly #clusterScoped: { res: typeof Resources.ClusterRole; name: string }[] = [];
  readonly #procs = new Set<ControllerProcess>();

  private constructor(admin: LoadedKubeClient, tag: string) {
    const s = randomName();
    this.prefix = `slbt2-${tag}-${s}`;
    this.r = 101 + Math.floor(Math.random() * 99);
    this.ns = { ctl: `${this.prefix}-ctl`, lb: `${this.prefix}-lb`, app: `${this.prefix}-app` };
    this.leaseName = `${this.prefix}-lease`;
    this.admin = admin;
    this.logDir = join(REPO, '.cache/test-results/servicelb-t2', this.prefix);
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Namespaces, RBAC (rbac.yaml, renamed into this suite), the ServiceAccount token kubeconfig. */
  static async create(tag: string): Promise<Suite> {
    const kc = requireT2Kubeconfig();
    const admin = await createKubeClient({ kubeconfig: kc, env: {} });
    const suite = new Suite(admin, tag);
    for (const name of Object.values(suite.ns)) {
      await admin.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'portico.io/test': suite.prefix } } });
    }
    await suite.#applyRbac();
    suite.kubeconfig = await suite.#serviceAccountKubeconfig(kc);
    return suite;
  }

  /** rbac.yaml with this suite's namespaces, lease name and cluster-scoped names. */
  rbacObjects(): KubeObject[] {
    const objs = loadRbac('apps/servicelb-controller/rbac.yaml');
    for (const o of objs) {
      const meta = o.metadata!;
      const leader = meta.name!.endsWith('-leader-election');
      if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') meta.name = `${meta.name}-${this.prefix}`;
      if (meta.namespace) meta.namespace = o.kind === 'ServiceAccount' || leader ? this.ns.ctl : this.ns.lb;
      const roleRef = o['roleRef'] as { kind: string; name: string } | undefined;
      if (roleRef?.kind === 'ClusterRole') roleRef.name = `${roleRef.name}-${this.prefix}`;
      for (const s of (o['subjects'] as { namespace?: string }[] | undefined) ?? []) s.namespace = this.ns.ctl;
      for (const rule of (o['rules'] as { resources: string[]; resourceNames?: string[] }[] | undefined) ?? []) {
        if (!rule.resourceNames) continue;
        if (rule.resources.includes('namespaces')) rule.resourceNames = [this.ns.lb];
        if (rule.resources.includes('leases')) rule.resourceNames = [this.leaseName];
      }
    }
    return objs;
  }

  async #applyRbac(): Promise<void> {
    for (const o of this.rbacObjects()) {
      await this.admin.apply(o, { fieldManager: 'portico-t2-test', force: true });
      if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') this.#clusterScoped.push({ res: o.kind === 'ClusterRole' ? Resources.ClusterRole : Resources.ClusterRoleBinding, name: o.metadata!.name! });
    }
  }

  /** A kubeconfig for the controller's ServiceAccount, with a token from the TokenRequest API. */
  async #serviceAccountKubeconfig(adminKubeconfig: string): Promise<string> {
    return serviceAccountKubeconfig(this.admin, adminKubeconfig, this.ns.ctl, this.serviceAccount, join(this.logDir, 'controller.kubeconfig'));
  }

  ip4(host: number, external = false): string {
    return `10.${this.r}.${external ? 1 : 0}.${host}`;
  }

  ip6(host: number, external = false): string {
    return `fd00:${this.r}:${external ? '1:' : ''}:${host.toString(16)}`;
  }

  /** Whether an address is one of this suite's nodes' (ingress may also list other suites' nodes). */
  mine(ip: string): boolean {
    return ip.startsWith(`10.${this.r}.`) || ip.startsWith(`fd00:${this.r}:`);
  }

  /** Creates kwok nodes with e2e/t2/add-nodes and waits until they can run pods. */
  async addNodes(specs: readonly NodeSpec[]): Promise<string[]> {
    const names: string[] = [];
    for (const n of specs) {
      const name = `${this.prefix}-${n.name}`;
      const args = ['--count', '1', '--prefix', name, '--timeout', '60', '--internal-ip', this.ip4(n.host)];
      if (n.dualStack) args.push('--internal-ip', this.ip6(n.host));
      if (n.external ?? true) {
        args.push('--external-ip', this.ip4(n.host, true));
        if (n.dualStack) args.push('--external-ip', this.ip6(n.host, true));
      }
      for (const [k, v] of Object.entries(n.labels ?? {})) args.push('--label', `${k}=${v}`);
      const { stdout } = await exec(join(REPO, 'e2e/t2/add-nodes'), args, { cwd: REPO, env: { ...process.env } });
      const created = stdout.trim().split('\n').filter(Boolean);
      assert.equal(created.length, 1, `add-nodes printed ${stdout}`);
      this.nodes.push(created[0]!);
      names.push(created[0]!);
    }
    return names;
  }

  /** Sets (string) or removes (null) labels of a node. */
  async labelNode(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.admin.patch(Resources.Node, { name }, { metadata: { labels } }, { type: 'merge' });
  }

  /** Starts a controller process with this suite's ServiceAccount kubeconfig. */
  async startController(opts: { identity: string; extraArgs?: string[]; leaderElect?: boolean; logLevel?: string }): Promise<ControllerProcess> {
    const main = await buildController();
    const port = await freeLocalPort();
    const args = [
      main,
      'run',
      '--kubeconfig',
      this.kubeconfig,
      '--lb-namespace',
      this.ns.lb,
      '--leader-elect-namespace',
      this.ns.ctl,
      '--lease-name',
      this.leaseName,
      '--leader-elect-identity',
      opts.identity,
      `--leader-elect=${opts.leaderElect ?? true}`,
      ...FAST_LEADER_ARGS,
      '--metrics-addr',
      `127.0.0.1:${port}`,
      '--log-level',
      opts.logLevel ?? 'debug',
      ...(opts.extraArgs ?? []),
    ];
    const p = new ControllerProcess(args, port, join(this.logDir, `controller-${opts.identity}-${Date.now()}.log`));
    this.#procs.add(p);
    return p;
  }

  /** Stops controllers, deletes nodes, namespaces and cluster-scoped RBAC. Never throws. */
  async cleanup(): Promise<void> {
    for (const p of this.#procs) await p.stop('SIGTERM').catch(() => undefined);
    const quiet = async (f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (err) {
        if (!isNotFound(err)) console.error(`cleanup of ${this.prefix}:`, err);
      }
    };
    for (const name of this.nodes) await quiet(() => this.admin.delete(Resources.Node, { name }));
    // Services in the app namespace carry our finalizer and the controller is stopped: drop it so
    // the namespace can go.
    await quiet(async () => {
      const svcs = await this.admin.list<KubeObject>(Resources.Service, { namespace: this.ns.app });
      for (const s of svcs.items) {
        if ((s.metadata?.finalizers ?? []).length > 0) {
          await quiet(() => this.admin.patch(Resources.Service, { namespace: this.ns.app, name: s.metadata!.name! }, { metadata: { finalizers: null } }, { type: 'merge' }));
        }
      }
    });
    for (const name of Object.values(this.ns)) await quiet(() => this.admin.delete(Resources.Namespace, { name }));
    for (const c of this.#clusterScoped) await quiet(() => this.admin.delete(c.res, { name: c.name }));
    this.admin.close();
  }
}

/** One controller process: the bundled binary run by this Node, its log in a file (libs/testing's LoggedProcess). */
export class ControllerProcess extends LoggedProcess {
  constructor(args: string[], port: number, logFile: string) {
    super(process.execPath, args, { logFile, port, cwd: REPO });
  }
}
