// Memory of what stays running in a svclb pod container after the rules are applied.
//
//   node --import tsx bench/lb-forwarder/memory.ts [--seconds N]     (as root; Node 24 on PATH)
//
// Each candidate runs in a throwaway network namespace (fwd-bench-*) with forwarding enabled; its
// PID is sampled every 200 ms for N seconds (default 5): VmRSS and VmHWM from /proc/<pid>/status,
// Pss from /proc/<pid>/smaps_rollup, plus the same for any children. Candidates:
//   1. Portico lb-forwarder, default: applies the rules, then process.execve() into /bin/sh running
//      the wait script (one process, FIFO opened read-write).
//   2. Portico lb-forwarder with --waiter none: the Node process stays resident.
//   3. klipper-lb's keep-alive (servicelb-ccm spec §7.2 step 6): a shell with `trap exit TERM INT`
//      blocked opening a FIFO for reading (`</pause`), with /bin/sh and, when installed, busybox sh
//      (klipper-lb's image runs busybox ash on musl; Debian's busybox is glibc, so only indicative).
// Prints a markdown table. Nothing touches the root namespace's rules or sysctls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN_JS = join(ROOT, 'dist', 'apps', 'lb-forwarder', 'main.js');
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 5;
const NS = `fwd-bench-${process.pid}`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function newestSource(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n = Math.max(n, e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return n;
}

function ensureBuilt(): void {
  const newest = Math.max(newestSource(join(ROOT, 'apps', 'lb-forwarder', 'src')), ...readdirSync(join(ROOT, 'libs')).map((l) => (existsSync(join(ROOT, 'libs', l, 'src')) ? newestSource(join(ROOT, 'libs', l, 'src')) : 0)));
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newest) return;
  run(process.execPath, [join(ROOT, 'tools', 'build-app.mjs'), 'lb-forwarder']);
}

interface Sample {
  rss: number;
  hwm: number;
  pss: number;
  procs: number;
}

function kib(text: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
}

function tree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [pid];
  }
  return [pid, ...kids.flatMap(tree)];
}

function sample(pid: number): Sample {
  const s: Sample = { rss: 0, hwm: 0, pss: 0, procs: 0 };
  for (const p of tree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      s.rss += kib(status, 'VmRSS');
      s.hwm += kib(status, 'VmHWM');
      s.pss += kib(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'), 'Pss');
      s.procs++;
    } catch {
      // exited between listing and reading
    }
  }
  return s;
}

async function settle(p: ChildProcess, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (p.exitCode !== null) throw new Error(`exited ${p.exitCode} before settling`);
    if (Date.now() > deadline) throw new Error('did not settle within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
}

interface Row {
  name: string;
  what: string;
  exe: string;
  samples: Sample[];
  exitCode: number | null;
}

async function measure(name: string, what: string, cmd: string[], env: Record<string, string>, ready: (p: ChildProcess, out: () => string) => boolean): Promise<Row> {
  const p = spawn('ip', ['netns', 'exec', NS, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  try {
    await settle(p, () => ready(p, () => out));
    const exe = readlinkSync(`/proc/${p.pid}/exe`);
    const samples: Sample[] = [];
    for (let i = 0; i < SECONDS * 5; i++) {
      samples.push(sample(p.pid!));
      await new Promise((r) => setTimeout(r, 200));
    }
    p.kill('SIGTERM');
    const exitCode = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    return { name, what, exe, samples, exitCode };
  } catch (err) {
    p.kill('SIGKILL');
    throw new Error(`${name}: ${(err as Error).message}\n${out}`);
  }
}

const klipperKeepAlive = (fifo: string): string => `trap exit TERM INT; if [ ! -e ${fifo} ]; then mkfifo ${fifo}; fi; </${fifo.replace(/^\//, '')}`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, iptables)');
  if (typeof process.execve !== 'function') throw new Error(`Node ${process.version} lacks process.execve: put node_modules/.bin first on PATH`);
  ensureBuilt();
  spawnSync('ip', ['netns', 'del', NS]);
  run('ip', ['netns', 'add', NS]);
  const rows: Row[] = [];
  try {
    run('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const env = { SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0,::/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10,fd00:43::10' };
    const handedOff = (p: ChildProcess, out: () => string): boolean => out().includes('"event":"handoff"') && !/node$/.test(readlinkSync(`/proc/${p.pid}/exe`));
    rows.push(await measure('Portico lb-forwarder (default)', 'Node applies the rules, then process.execve() into /bin/sh waiting on a FIFO', [process.execPath, MAIN_JS], env, handedOff));
    rows.push(await measure('Portico lb-forwarder --waiter none', 'the Node process stays resident (Node 20 fallback behaves the same)', [process.execPath, MAIN_JS, '--waiter', 'none'], env, (_p, out) => out().includes('"event":"stayingResident"')));
    const fifo = `/tmp/${NS}.pause`;
    rows.push(await measure('klipper-lb keep-alive, /bin/sh', 'shell with `trap exit TERM INT` blocked on `</pause` (klipper-lb entry, step 6)', ['/bin/sh', '-c', klipperKeepAlive(fifo)], {}, (p) => existsSync(`/proc/${p.pid}/status`)));
    if (spawnSync('sh', ['-c', 'command -v busybox']).status === 0) {
      rows.push(await measure('klipper-lb keep-alive, busybox sh', 'same, busybox ash as in the klipper-lb image (glibc build here)', ['busybox', 'sh', '-c', klipperKeepAlive(fifo)], {}, (p) => existsSync(`/proc/${p.pid}/status`)));
    }
    spawnSync('rm', ['-f', fifo]);
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }

  const stat = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs), mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) });
  const mib = (k: number): string => (k / 1024).toFixed(2);
  console.log(`lb-forwarder memory after the rules are applied: ${SECONDS} s, ${SECONDS * 5} samples each, ${process.version}, kernel ${run('uname', ['-r']).trim()}`);
  console.log('');
  console.log('| what stays running | VmRSS MiB (min / mean / max) | VmHWM MiB | Pss MiB (mean) | processes | executable | exit on SIGTERM |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const rss = stat(r.samples.map((s) => s.rss));
    const pss = stat(r.samples.map((s) => s.pss));
    const hwm = Math.max(...r.samples.map((s) => s.hwm));
    const procs = Math.max(...r.samples.map((s) => s.procs));
    console.log(`| ${r.name}: ${r.what} | ${mib(rss.min)} / ${mib(rss.mean)} / ${mib(rss.max)} | ${mib(hwm)} | ${mib(pss.mean)} | ${procs} | ${r.exe} | ${r.exitCode ?? 'no exit within 5 s'} |`);
  }
}

await main();
