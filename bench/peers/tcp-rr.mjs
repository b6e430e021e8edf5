// TCP request/response latency: one connection, 1-byte request, 1-byte answer, N round trips.
//   node bench/peers/tcp-rr.mjs server <port>            echo server (prints "ready")
//   node bench/peers/tcp-rr.mjs client <ip> <port> <n>   prints a JSON array of round-trip µs
import net from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'server') {
  net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => s.destroy());
  }).listen(Number(a), () => process.stdout.write('ready\n'));
} else if (mode === 'client') {
  const n = Number(c);
  const s = net.connect(Number(b), a, () => {
    s.setNoDelay(true);
    const out = [];
    let t0 = process.hrtime.bigint();
    s.on('data', () => {
      const t = process.hrtime.bigint();
      out.push(Number(t - t0) / 1000);
      if (out.length === n) {
        process.stdout.write(JSON.stringify(out) + '\n');
        s.end();
        return;
      }
      t0 = process.hrtime.bigint();
      s.write('x');
    });
    s.write('x');
  });
  s.on('error', (e) => {
    process.stderr.write(`tcp-rr client: ${e.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: tcp-rr.mjs server <port> | client <ip> <port> <n>\n');
  process.exit(2);
}
