// Shared helpers of the libs/kube T2 suites: an admin client from the T2 kubeconfig, a throwaway
// namespace per test, the e2e/t2 helper scripts, a cuttable TCP proxy, polling.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createKubeClient, deleteIfExists, type KubeObject, type LoadedKubeClient, Resources } from '../../src/index.ts';

export const REPO = resolve(import.meta.dirname, '../../../..');

/** The admin kubeconfig path (run-tier.sh exports KUBECONFIG after e2e/t2/up). Fails loudly when absent. */
export function kubeconfigPath(): string {
  const p = process.env['KUBECONFIG'];
  assert.ok(p, 'KUBECONFIG is not set: run T2 tests through tools/test/run-tier.sh t2 (it runs e2e/t2/up)');
  assert.ok(existsSync(p), `KUBECONFIG points to ${p}, which does not exist (is the T2 cluster up? e2e/t2/up)`);
  return p;
}

export async function adminClient(): Promise<LoadedKubeClient> {
  return createKubeClient({ kubeconfig: kubeconfigPath() });
}

/** Server URL and CA (PEM) of the admin kubeconfig, for clients built with other credentials. */
export function clusterOf(kubeconfig = kubeconfigPath()): { server: string; caData: string } {
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] };
  const c = kc.clusters[0]!.cluster;
  return { server: c.server, caData: Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8') };
}

/** Creates `kube-t2-<prefix>-<random>` and returns its name plus a cleanup that deletes it. */
export async function testNamespace(client: LoadedKubeClient, prefix: string): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const name = `kube-t2-${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'portico.test/suite': 'libs-kube' } } });
  return {
    name,
    cleanup: async () => {
      await deleteIfExists(client, Resources.Namespace, { name });
    },
  };
}

/**
 * Runs an e2e/t2 helper script without blocking the event loop (watches and writers keep running);
 * fails the test, naming the script, when it is missing or fails.
 */
export async function runT2Script(script: string, args: string[] = [], timeoutMs = 180_000): Promise<string> {
  const path = resolve(REPO, 'e2e/t2', script);
  assert.ok(existsSync(path), `missing T2 helper e2e/t2/${script} (owned by the control-plane engineer)`);
  const child = spawn('bash', [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  assert.equal(code, 0, `e2e/t2/${script} ${args.join(' ')} failed (status ${code}, signal ${signal}):\n${stderr}`);
  return stdout;
}

/** Polls `cond` every `everyMs` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** A ConfigMap object. */
export function configMap(namespace: string, name: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data };
}

/** `name -> resourceVersion` of a list, for cache-vs-server comparisons. */
export function versions(objs: readonly KubeObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of [...objs].sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))) out[o.metadata!.name!] = o.metadata!.resourceVersion!;
  return out;
}

/**
 * A TCP proxy in front of the API server whose connections the test can cut and whose accept it
 * can pause: a client behind it is "disconnected" while everyone else keeps talking to the server.
 */
export class CuttableProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #paused = false;
  port = 0;

  constructor(targetUrl: string) {
    const u = new URL(targetUrl);
    this.#target = { host: u.hostname, port: Number(u.port || 443) };
  }

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      if (this.#paused) {
        client.destroy();
        return;
      }
      const upstream = createConnection(this.#target);
      this.#sockets.add(client).add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server!.address() as { port: number }).port;
  }

  /**
   * Half-open simulation: open connections stay open but stop carrying bytes (both directions);
   * new connections work normally.
   */
  freeze(): void {
    for (const s of this.#sockets) {
      s.unpipe();
      s.pause();
    }
  }

  /** Drops every open connection and refuses new ones until resume(). */
  cut(): void {
    this.#paused = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  resume(): void {
    this.#paused = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}

/** The admin kubeconfig text with its server pointed at 127.0.0.1:`port` (the API server certificate covers 127.0.0.1). */
export function kubeconfigVia(port: number, kubeconfig = kubeconfigPath()): string {
  return readFileSync(kubeconfig, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`);
}

/** An admin client, a test namespace, and a second client that reaches the apiserver through a CuttableProxy. */
export interface ProxiedSetup {
  readonly admin: LoadedKubeClient;
  readonly viaProxy: LoadedKubeClient;
  readonly ns: { name: string; cleanup: () => Promise<void> };
  readonly proxy: CuttableProxy;
  /** Closes the clients and the proxy, deletes the namespace and the temporary kubeconfig. */
  close(): Promise<void>;
}

export async function proxiedSetup(prefix: string): Promise<ProxiedSetup> {
  const admin = await adminClient();
  const ns = await testNamespace(admin, prefix);
  const proxy = new CuttableProxy(clusterOf().server);
  await proxy.start();
  const dir = mkdtempSync(join(tmpdir(), `kube-t2-${prefix}-`));
  writeFileSync(join(dir, 'kubeconfig'), kubeconfigVia(proxy.port), { mode: 0o600 });
  const viaProxy = await createKubeClient({ kubeconfig: join(dir, 'kubeconfig') });
  return {
    admin,
    viaProxy,
    ns,
    proxy,
    async close() {
      viaProxy.close();
      await proxy.stop();
      await ns.cleanup();
      admin.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
