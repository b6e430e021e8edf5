// Helpers for T2 tests (a real control plane from e2e/t2/up): prerequisites that fail loudly,
// polling, free ports, a kubeconfig holding a TokenRequest token of one ServiceAccount (so a
// process runs with exactly the RBAC under test), and a child process with a log file and health
// endpoints.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import type { KubeClient } from '@portico/kube';

/** KUBECONFIG of the T2 cluster; fails (never skips) when it is not set. */
export function requireT2Kubeconfig(): string {
  const kc = process.env['KUBECONFIG'];
  assert.ok(kc, 'KUBECONFIG is not set: run T2 tests through `T2_KEEP=1 bash tools/test/run-tier.sh t2 <files>` (it starts e2e/t2/up)');
  return kc;
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it stops throwing; fails with its last error after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}: ${last instanceof Error ? last.message : String(last)}`);
    await delay(everyMs);
  }
}

/** A free TCP port on 127.0.0.1. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Lower-case letters and digits, for test-unique names. */
export function randomName(n = 5): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: n }, () => abc[Math.floor(Math.random() * abc.length)]).join('');
}

/**
 * Writes a kubeconfig for ServiceAccount `namespace/name` of the cluster in `adminKubeconfig`, with
 * a token from the TokenRequest API, and returns its path.
 */
export async function serviceAccountKubeconfig(admin: KubeClient, adminKubeconfig: string, namespace: string, name: string, outPath: string): Promise<string> {
  const tr = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
  });
  const kc = parseYaml(readFileSync(adminKubeconfig, 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[] };
  const cluster = kc.clusters[0]!.cluster;
  const ca = cluster['certificate-authority-data'] ?? readFileSync(join(dirname(adminKubeconfig), cluster['certificate-authority']!)).toString('base64');
  writeFileSync(
    outPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 't2', cluster: { server: cluster.server, 'certificate-authority-data': ca } }],
      users: [{ name, user: { token: tr.status.token } }],
      contexts: [{ name: 'sa', context: { cluster: 't2', user: name, namespace } }],
      'current-context': 'sa',
    }),
    { mode: 0o600 },
  );
  return outPath;
}

/** A child process whose output goes to a log file, with helpers for its HTTP endpoints. */
export class LoggedProcess {
  readonly proc: ChildProcess;
  readonly logFile: string;
  readonly port: number | undefined;
  readonly exited: Promise<number | null>;

  constructor(command: string, args: readonly string[], opts: { logFile: string; port?: number; cwd?: string; env?: NodeJS.ProcessEnv }) {
    this.logFile = opts.logFile;
    this.port = opts.port;
    const out = createWriteStream(opts.logFile);
    this.proc = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.pipe(out);
    this.proc.stderr!.pipe(out);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async http(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Waits for /readyz = 200; fails at once if the process exits. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await eventually(
      async () => {
        if (!this.running) assert.fail(`process exited (${this.proc.exitCode ?? this.proc.signalCode}); log ${this.logFile}:\n${this.tail()}`);
        const r = await this.http('/readyz');
        assert.equal(r.status, 200, r.body);
      },
      `/readyz of ${this.logFile}`,
      timeoutMs,
    );
  }

  /** Value of the first sample line of a metric, or undefined. */
  async metric(name: string, labels = ''): Promise<number | undefined> {
    const text = (await this.http('/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  }

  /** JSON log lines written so far. */
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

  /** Sends `signal`, waits for the exit (SIGKILL after 10 s). */
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
