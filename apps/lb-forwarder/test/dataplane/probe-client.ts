// One request through the forwarder, run inside the client namespace:
//   node probe-client.ts tcp|udp HOST PORT LOCAL_ADDRESS TIMEOUT_MS
// Prints the reply line (exit 0), or TIMEOUT / ERROR <message> (exit 1).
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

const [proto, host, portText, localAddress, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const timeoutMs = Number(timeoutText ?? '2000');
const payload = `hello-${process.pid}`;
const finish = (line: string, code: number): never => {
  process.stdout.write(line.trim() + '\n');
  process.exit(code);
};
setTimeout(() => finish('TIMEOUT', 1), timeoutMs);

if (proto === 'tcp') {
  const sock = connect({ host: host!, port, localAddress: localAddress! }, () => sock.write(payload + '\n'));
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    if (buf.includes('\n')) finish(buf, 0);
  });
  sock.on('error', (e) => finish(`ERROR ${e.message}`, 1));
} else {
  const udp = createSocket(host!.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (m) => finish(m.toString(), 0));
  udp.on('error', (e) => finish(`ERROR ${e.message}`, 1));
  udp.bind(0, localAddress!, () => udp.send(payload, port, host!));
}
