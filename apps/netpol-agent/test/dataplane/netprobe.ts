// A tiny traffic tool for the data-plane tests, run inside a network namespace with plain `node`
// (erasable TypeScript, no imports outside node:*):
//
//   node netprobe.ts serve --tcp 80,8080 --udp 53     listens on [::] (IPv4 too), prints "ready";
//                                                      then each stdin line (a JSON array of probes)
//                                                      is run and answered with one JSON line
//   node netprobe.ts probe < probes.json              runs every probe at once, prints JSON results
//
// A probe is { id, proto: 'TCP'|'UDP', ip, port, bind?, timeoutMs? }. TCP succeeds when the connection
// is established; UDP when the server's reply arrives. Policy REJECTs arrive as ICMP errors
// (ECONNREFUSED), so denied probes fail fast; a timeout is also a failure.
import net from 'node:net';
import dgram from 'node:dgram';

type Probe = { id: string; proto: 'TCP' | 'UDP'; ip: string; port: number; bind?: string; timeoutMs?: number };
type Result = { id: string; ok: boolean; detail: string; ms: number };

function ports(arg: string | undefined): number[] {
  return (arg ?? '').split(',').filter(Boolean).map(Number);
}

async function serve(argv: string[]): Promise<void> {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const waits: Promise<void>[] = [];
  for (const port of ports(get('--tcp'))) {
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end('ok\n');
    });
    waits.push(new Promise((resolve, reject) => server.once('error', reject).listen({ host: '::', port, ipv6Only: false }, resolve)));
  }
  for (const port of ports(get('--udp'))) {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (_msg, rinfo) => sock.send('pong', rinfo.port, rinfo.address));
    waits.push(new Promise((resolve, reject) => sock.once('error', reject).bind(port, '::', () => resolve())));
  }
  await Promise.all(waits);
  process.stdout.write('ready\n');
  // Probe batches from stdin, one JSON line each, answered in order; serve until killed.
  let buf = '';
  let chain = Promise.resolve();
  process.stdin.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      chain = chain.then(async () => {
        process.stdout.write(JSON.stringify(await runAll(JSON.parse(line) as Probe[])) + '\n');
      });
    }
  });
  await new Promise(() => undefined);
}

function runAll(probes: Probe[]): Promise<Result[]> {
  return Promise.all(probes.map((p) => (p.proto === 'TCP' ? probeTcp(p) : probeUdp(p))));
}

function probeTcp(p: Probe): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host: p.ip, port: p.port, ...(p.bind ? { localAddress: p.bind } : {}) });
    const timer = setTimeout(() => done(false, 'timeout'), p.timeoutMs ?? 1500);
    let settled = false;
    function done(ok: boolean, detail: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ id: p.id, ok, detail, ms: Math.round(performance.now() - t0) });
    }
    sock.once('connect', () => done(true, 'connected'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
  });
}

function probeUdp(p: Probe): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket(p.ip.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(false, 'timeout'), p.timeoutMs ?? 1500);
    let settled = false;
    function done(ok: boolean, detail: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      resolve({ id: p.id, ok, detail, ms: Math.round(performance.now() - t0) });
    }
    sock.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
    sock.on('message', () => done(true, 'reply'));
    sock.bind({ port: 0, ...(p.bind ? { address: p.bind } : {}) }, () => {
      sock.connect(p.port, p.ip, (err?: Error) => {
        if (err) return done(false, err.message);
        sock.send('ping', (e) => e && done(false, e.message));
      });
    });
  });
}

async function probe(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const probes = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Probe[];
  const results = await runAll(probes);
  process.stdout.write(JSON.stringify(results) + '\n');
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'serve') await serve(rest);
else if (mode === 'probe') await probe();
else {
  process.stderr.write('usage: netprobe.ts serve --tcp P,.. --udp P,.. | probe < probes.json\n');
  process.exit(2);
}
