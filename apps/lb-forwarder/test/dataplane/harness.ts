// T1 harness for lb-forwarder: a client, a forwarder "pod" and a backend, each in its own network
// namespace (prefix fwd-), joined by veth pairs with IPv4 and IPv6 addresses:
//
//   client (fwd-c-*)                 pod (fwd-p-*)                      backend (fwd-b-*)
//   c0 10.80.1.2, .3  ---------  p0 10.80.1.1  |  p1 10.80.2.1  ---------  b0 10.80.2.2
//      fd80:1::2, ::3               fd80:1::1  |     fd80:2::1                fd80:2::2
//
// Forwarding sysctls are enabled in the pod namespace only. The forwarder is the bundled app
// (dist/apps/lb-forwarder/main.js), rebuilt by ensureBuilt() when missing or older than any source
// file, and run as `ip netns exec <pod> node main.js` so that its PID is the forwarder's own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
export const MAIN_JS = join(ROOT, 'dist', 'apps', 'lb-forwarder', 'main.js');
const HERE = import.meta.dirname;

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function sh(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Result {
  const r = spawnSync(cmd, args, { input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env });
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

function must(cmd: string, args: readonly string[]): string {
  const r = sh(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Fails loudly (never skips) when something the tests need is missing. */
export function requirePrerequisites(): void {
  assert.equal(process.getuid?.(), 0, 'lb-forwarder T1 tests need root (network namespaces, iptables)');
  const need = ['ip', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-nft-restore', 'iptables-legacy-save', 'ip6tables-legacy-save', 'sh', 'mkfifo'];
  const missing = need.filter((b) => sh('sh', ['-c', `command -v ${b}`]).code !== 0);
  assert.deepEqual(missing, [], `missing for lb-forwarder T1 tests: ${missing.join(', ')} (apt-get install iproute2 iptables coreutils dash)`);
  assert.ok(typeof process.execve === 'function', `the tests run under Node ${process.version}, which lacks process.execve: put node_modules/.bin first on PATH`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/apps/lb-forwarder/main.js when it is missing or older than a source file. */
export function ensureBuilt(): void {
  const sources = [join(ROOT, 'apps', 'lb-forwarder', 'src'), ...readdirSync(join(ROOT, 'libs')).map((l) => join(ROOT, 'libs', l, 'src'))].filter((d) => existsSync(d));
  const newest = Math.max(...sources.map(newestMtime));
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newest) return;
  const r = spawnSync(process.execPath, ['tools/build-app.mjs', 'lb-forwarder'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `node tools/build-app.mjs lb-forwarder failed: ${r.stderr}`);
}

export const ADDR = {
  client4: '10.80.1.2',
  client4Other: '10.80.1.3',
  pod4: '10.80.1.1',
  podBackend4: '10.80.2.1',
  backend4: '10.80.2.2',
  client6: 'fd80:1::2',
  client6Other: 'fd80:1::3',
  pod6: 'fd80:1::1',
  podBackend6: 'fd80:2::1',
  backend6: 'fd80:2::2',
} as const;

/** Ports the backend echo server serves (TCP and UDP each). */
export const BACKEND_PORTS = [8080, 5353, 9000] as const;

export class Topology {
  readonly client: string;
  readonly pod: string;
  readonly backend: string;
  private echo: ChildProcess | undefined;

  constructor(tag: string) {
    const id = `${tag}-${process.pid}`;
    this.client = `fwd-c-${id}`;
    this.pod = `fwd-p-${id}`;
    this.backend = `fwd-b-${id}`;
  }

  async create(): Promise<void> {
    this.destroy();
    for (const ns of [this.client, this.pod, this.backend]) {
      must('ip', ['netns', 'add', ns]);
      must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    must('ip', ['link', 'add', 'c0', 'netns', this.client, 'type', 'veth', 'peer', 'name', 'p0', 'netns', this.pod]);
    must('ip', ['link', 'add', 'p1', 'netns', this.pod, 'type', 'veth', 'peer', 'name', 'b0', 'netns', this.backend]);
    const addrs: [string, string, string[]][] = [
      [this.client, 'c0', [`${ADDR.client4}/24`, `${ADDR.client4Other}/24`, `${ADDR.client6}/64`, `${ADDR.client6Other}/64`]],
      [this.pod, 'p0', [`${ADDR.pod4}/24`, `${ADDR.pod6}/64`]],
      [this.pod, 'p1', [`${ADDR.podBackend4}/24`, `${ADDR.podBackend6}/64`]],
      [this.backend, 'b0', [`${ADDR.backend4}/24`, `${ADDR.backend6}/64`]],
    ];
    for (const [ns, dev, list] of addrs) {
      for (const a of list) must('ip', ['-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
      must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    this.setForwarding(true, true);
    await this.startEcho();
  }

  /** Sets the pod namespace's forwarding sysctls (never the root namespace's). */
  setForwarding(v4: boolean, v6: boolean): void {
    must('ip', ['netns', 'exec', this.pod, 'sysctl', '-qw', `net.ipv4.ip_forward=${v4 ? 1 : 0}`, `net.ipv6.conf.all.forwarding=${v6 ? 1 : 0}`]);
  }

  private async startEcho(): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', this.backend, process.execPath, join(HERE, 'echo-server.ts'), ...BACKEND_PORTS.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.echo = p;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`echo server did not start: ${out}`)), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`echo server exited ${code}: ${out}`));
      });
    });
  }

  destroy(): void {
    if (this.echo && this.echo.exitCode === null) this.echo.kill('SIGKILL');
    this.echo = undefined;
    for (const ns of [this.client, this.pod, this.backend]) sh('ip', ['netns', 'del', ns]);
  }

  /** One request from the client namespace; the reply line, or TIMEOUT / ERROR ... */
  probe(proto: 'tcp' | 'udp', host: string, port: number, from: string, timeoutMs = 2000): string {
    const r = sh('ip', ['netns', 'exec', this.client, process.execPath, join(HERE, 'probe-client.ts'), proto, host, String(port), from, String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 });
    return r.stdout.trim() || `ERROR ${r.stderr.trim()}`;
  }

  /** iptables-save of the pod namespace for a family and backend, without # lines and counters. */
  save(family: 'IPv4' | 'IPv6', mode: 'nft' | 'legacy' = 'nft'): string {
    const cmd = `${family === 'IPv4' ? 'iptables' : 'ip6tables'}-${mode}-save`;
    const out = must('ip', ['netns', 'exec', this.pod, cmd]);
    return out
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  }

  /** Both families, both backends. */
  saveAll(): string {
    return (['IPv4', 'IPv6'] as const).flatMap((f) => (['nft', 'legacy'] as const).map((m) => `## ${f} ${m}\n${this.save(f, m)}`)).join('\n');
  }
}

/** A forwarder process started in the pod namespace. */
export class Forwarder {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(pod: string, env: Record<string, string>, args: readonly string[] = []) {
    this.proc = spawn('ip', ['netns', 'exec', pod, process.execPath, MAIN_JS, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** JSON log lines written before the hand-off. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Waits for the exit code (for runs that must fail). */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    const r = await Promise.race([this.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`forwarder did not exit: ${this.stdout}${this.stderr}`)), timeoutMs).unref())]);
    return r.code;
  }

  /** Waits until the PID runs the waiter (its executable is no longer node); returns the exe path. */
  async handedOff(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) assert.fail(`forwarder exited ${this.proc.exitCode} before the hand-off:\n${this.stdout}${this.stderr}`);
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${this.pid}/exe`);
      } catch {
        // not yet
      }
      if (exe && !/\bnode$/.test(exe) && !exe.endsWith('/ip') && this.stdout.includes('"event":"handoff"')) return exe;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`no hand-off within ${timeoutMs} ms:\n${this.stdout}${this.stderr}`);
  }

  /** Waits until the Node process logs that it stays resident (explicit fallback). */
  async stayingResident(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.stdout.includes('"event":"stayingResident"')) return;
      if (this.proc.exitCode !== null) assert.fail(`forwarder exited ${this.proc.exitCode}:\n${this.stdout}${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`forwarder did not settle:\n${this.stdout}${this.stderr}`);
  }

  /** VmRSS and VmHWM of the process in KiB, and how many children it has. */
  memory(): { rssKiB: number; hwmKiB: number; children: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    let children = 0;
    try {
      children = readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
    } catch {
      children = -1;
    }
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), children };
  }

  /** Sends SIGTERM and returns the exit code. */
  async terminate(): Promise<number | null> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    return this.exitCode();
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** The klipper-lb environment of one container. */
export function klipperEnv(o: { srcPort: number; proto: string; destPort: number; destIPs: string; ranges?: string }): Record<string, string> {
  return { SRC_PORT: String(o.srcPort), SRC_RANGES: o.ranges ?? '0.0.0.0/0,::/0', DEST_PROTO: o.proto, DEST_PORT: String(o.destPort), DEST_IPS: o.destIPs };
}
