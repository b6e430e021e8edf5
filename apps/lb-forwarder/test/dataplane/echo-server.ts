// Echo server for the T1 tests, run inside the backend namespace with `node echo-server.ts PORT...`.
// Each PORT is served over TCP (dual-stack) and UDP (IPv4 and IPv6). A reply names the peer address
// the server saw, so tests can tell that the forwarder masqueraded: `echo:<payload>:from=<addr>`.
// Prints "ready" once every socket listens. Stops on SIGTERM.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const ports = process.argv.slice(2).map(Number);
let pending = ports.length * 3;
const ready = (): void => {
  if (--pending === 0) process.stdout.write('ready\n');
};
const strip = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

for (const port of ports) {
  const tcp = createServer((sock) => {
    sock.once('data', (d) => sock.end(`echo:${d.toString().trim()}:from=${strip(sock.remoteAddress)}\n`));
    sock.on('error', () => undefined);
  });
  tcp.listen({ port, host: '::' }, ready);
  for (const type of ['udp4', 'udp6'] as const) {
    const udp = createSocket({ type, ipv6Only: type === 'udp6' });
    udp.on('message', (msg, rinfo) => udp.send(`echo:${msg.toString().trim()}:from=${rinfo.address}\n`, rinfo.port, rinfo.address));
    udp.bind(port, type === 'udp4' ? '0.0.0.0' : '::', ready);
  }
}
process.on('SIGTERM', () => process.exit(0));
