// Runs inside a benchmark network namespace: accepts TCP on 127.0.0.1:<port> and relays each
// connection to the unix socket <path>, where bench/peers/netpol.ts (in the host namespace) relays
// it on to the T2 API server. So an agent in the namespace uses the unchanged T2 kubeconfig.
//   node bench/peers/ns-forward.mjs <port> <unix socket path>
import net from 'node:net';

const [port, path] = [Number(process.argv[2]), process.argv[3]];
if (!Number.isInteger(port) || port <= 0 || !path) {
  process.stderr.write('usage: node bench/peers/ns-forward.mjs <port> <unix socket path>\n');
  process.exit(2);
}
net
  .createServer((c) => {
    const u = net.connect(path);
    c.pipe(u).pipe(c);
    const close = () => {
      c.destroy();
      u.destroy();
    };
    c.on('error', close);
    u.on('error', close);
    c.on('close', close);
    u.on('close', close);
  })
  .listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
