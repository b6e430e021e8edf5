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
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { createKubeClient, isNotFound, Resources, type KubeObject, type LoadedKubeClient } from '@portico/kube';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const exec = promisify(execFile);

/** Fails loudly when the T2 control plane is not there (never skips). */
export function requireKubeconfig(): string {
  const kc = process.env['KUBECONFIG'];
  assert.ok(kc, 'KUBECONFIG is not set: run T2 tests through `T2_KEEP=1 bash tools/test/run-tier.sh t2 <files>` (it starts e2e/t2/up)');
  return kc;
}

/** Builds the controller binary once per process (tools/build-app.mjs). */
let built: Promise<string> | undefined;
export function buildController(): Promise<string> {
  built ??= exec(process.execPath, ['tools/build-app.mjs', 'servicelb-controller'], { cwd: REPO }).then(() => join(REPO, 'dist/apps/servicelb-controller/main.js'));
  return built;
}

export function randomSuffix(n = 5): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[Math.floor(Math.random() * abc.length)];
  return s;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it stops throwing; fails with its last error after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}: ${last instanceof Error ? last.message : String(last)}`);
    await sleep(everyMs);
  }
}

/** A free TCP port on 127.0.0.1 (for --metrics-addr). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
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
    const s = randomSuffix();
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
    const kc = requireKubeconfig();
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
    const text = readFileSync(join(REPO, 'apps/servicelb-controller/rbac.yaml'), 'utf8');
    const objs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject & Record<string, unknown>);
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
    const tr = await this.admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${this.ns.ctl}/serviceaccounts/${this.serviceAccount}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
    });
    const admin = parseYaml(readFileSync(adminKubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
    };
    const cluster = admin.clusters[0]!.cluster;
    const caData = cluster['certificate-authority-data'] ?? Buffer.from(readFileSync(join(adminKubeconfig, '..', cluster['certificate-authority']!))).toString('base64');
    const path = join(this.logDir, 'controller.kubeconfig');
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 't2', cluster: { server: cluster.server, 'certificate-authority-data': caData } }],
        users: [{ name: this.serviceAccount, user: { token: tr.status.token } }],
        contexts: [{ name: 'sa', context: { cluster: 't2', user: this.serviceAccount, namespace: this.ns.ctl } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    return path;
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
    const port = await freePort();
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
      '--leader-elect-lease-duration',
      '3s',
      '--leader-elect-renew-deadline',
      '2s',
      '--leader-elect-retry-period',
      '500ms',
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

/** One controller process; its log goes to a file (printed by `tail()` when a test fails). */
export class ControllerProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  readonly exited: Promise<number | null>;

  constructor(args: string[], port: number, logFile: string) {
    this.port = port;
    this.logFile = logFile;
    const out = createWriteStream(logFile);
    this.proc = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.pipe(out);
    this.proc.stderr!.pipe(out);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Waits for /readyz = 200; fails at once if the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (!this.running) assert.fail(`the controller exited (${this.proc.exitCode ?? this.proc.signalCode}); log ${this.logFile}:\n${this.tail()}`);
      try {
        const r = await this.get('/readyz');
        if (r.status === 200) return;
        last = `${r.status} ${r.body}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) assert.fail(`controller /readyz not 200 after ${timeoutMs} ms: ${last}`);
      await sleep(100);
    }
  }

  /** The value of a metric sample line (first match), or undefined. */
  async metric(name: string, labels = ''): Promise<number | undefined> {
    const text = (await this.get('/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  }

  /** Log lines (JSON objects), as far as written. */
  logLines(): Record<string, unknown>[] {
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  tail(n = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 10 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.running) return this.proc.exitCode;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
