// T1: the bundled lb-forwarder in a pod network namespace, real TCP/UDP traffic from a client
// namespace to a backend namespace, IPv4 and IPv6, source ranges, idempotent restarts, sysctls,
// bad input, SIGTERM after the hand-off and the waiter's memory. See harness.ts for the topology.
import { afterAll, afterEach, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ADDR, ensureBuilt, Forwarder, klipperEnv, requirePrerequisites, sh, Topology } from './harness.ts';

const started: Forwarder[] = [];
function start(t: Topology, env: Record<string, string>, args: readonly string[] = []): Forwarder {
  const f = new Forwarder(t.pod, env, args);
  started.push(f);
  return f;
}
afterEach(() => {
  for (const f of started.splice(0)) f.kill();
});

beforeAll(() => {
  requirePrerequisites();
  ensureBuilt();
});

/** 2 MiB: the bound on what stays resident after the hand-off. */
const RSS_LIMIT_KIB = 2048;

const echoFrom = (peer: string): RegExp => new RegExp(`^echo:hello-\\d+:from=${peer.replace(/\./g, '\\.')}$`);

describe('IPv4: TCP and UDP containers of one pod, hand-off, memory, SIGTERM', () => {
  const t = new Topology('v4');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('traffic flows through both, masqueraded; the waiter stays under 2 MiB and exits 0 on SIGTERM', async () => {
    const tcp = start(t, klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 }));
    const udp = start(t, klipperEnv({ srcPort: 53, proto: 'UDP', destPort: 5353, destIPs: ADDR.backend4 }));
    const exeTcp = await tcp.handedOff();
    await udp.handedOff();
    assert.doesNotMatch(exeTcp, /node/, 'the PID now runs the waiter shell');

    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.match(t.probe('udp', ADDR.pod4, 53, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4Other), echoFrom(ADDR.podBackend4), 'SRC_RANGES 0.0.0.0/0 lets every client in');

    for (const f of [tcp, udp]) {
      const m = f.memory();
      console.log(`after hand-off: pid ${f.pid} VmRSS ${m.rssKiB} KiB, VmHWM ${m.hwmKiB} KiB, children ${m.children}`);
      assert.ok(m.rssKiB <= RSS_LIMIT_KIB, `VmRSS ${m.rssKiB} KiB > ${RSS_LIMIT_KIB} KiB after the hand-off`);
      assert.equal(m.children, 0, 'the waiter is a single process (FIFO path)');
      const logs = f.logs();
      assert.deepEqual(logs.map((l) => l['event']), ['starting', 'backendSelected', 'rulesApplied', 'handoff']);
      assert.equal(logs[2]!['command'], 'iptables-nft-restore');
    }
    const pid = tcp.pid;
    assert.equal(await tcp.terminate(), 0);
    assert.equal(await udp.terminate(), 0);
    assert.equal(existsSync(`/proc/${pid}`), false);
    // Rules live in the namespace, not in the process (as with klipper-lb).
    assert.match(t.save('IPv4'), /-A PORTICO-LB-DNAT-TCP-80 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10\.80\.2\.2:8080/);
  });
});

describe('IPv6 and mixed-family DEST_IPS', () => {
  const t = new Topology('v6');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('one container with an IPv4 and an IPv6 destination serves both families', async () => {
    const f = start(t, klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: `${ADDR.backend4},${ADDR.backend6}` }));
    await f.handedOff();
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.match(t.probe('tcp', ADDR.pod6, 80, ADDR.client6), echoFrom(ADDR.podBackend6));
    assert.deepEqual(f.logs().filter((l) => l['event'] === 'rulesApplied').map((l) => [l['family'], l['command']]), [
      ['IPv4', 'iptables-nft-restore'],
      ['IPv6', 'ip6tables-nft-restore'],
    ]);
    assert.doesNotMatch(t.save('IPv4'), /fd80/);
    assert.doesNotMatch(t.save('IPv6'), /10\.80/);
    assert.equal(await f.terminate(), 0);
  });

  test('UDP over IPv6 only', async () => {
    const f = start(t, klipperEnv({ srcPort: 53, proto: 'UDP', destPort: 5353, destIPs: ADDR.backend6 }));
    await f.handedOff();
    assert.match(t.probe('udp', ADDR.pod6, 53, ADDR.client6), echoFrom(ADDR.podBackend6));
    assert.equal(t.probe('udp', ADDR.pod4, 53, ADDR.client4, 800), 'TIMEOUT', 'no IPv4 destination: nothing forwarded for IPv4');
    assert.equal(await f.terminate(), 0);
  });
});

describe('source ranges', () => {
  const t = new Topology('src');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('a client inside SRC_RANGES gets through, one outside is dropped (IPv4 and IPv6)', async () => {
    const f = start(t, klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: `${ADDR.backend4},${ADDR.backend6}`, ranges: `${ADDR.client6}/128,${ADDR.client4}/32` }));
    await f.handedOff();
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.equal(t.probe('tcp', ADDR.pod4, 80, ADDR.client4Other, 1000), 'TIMEOUT');
    assert.match(t.probe('tcp', ADDR.pod6, 80, ADDR.client6), echoFrom(ADDR.podBackend6));
    assert.equal(t.probe('tcp', ADDR.pod6, 80, ADDR.client6Other, 1000), 'TIMEOUT');
    assert.equal(await f.terminate(), 0);
  });
});

describe('restart in the same network namespace', () => {
  const t = new Topology('rerun');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('running the forwarder again leaves identical rules and working traffic', async () => {
    const env = klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: `${ADDR.backend4},${ADDR.backend6}` });
    const first = start(t, env);
    await first.handedOff();
    const rulesAfterFirst = t.saveAll();
    assert.equal(await first.terminate(), 0);

    const second = start(t, env);
    await second.handedOff();
    assert.equal(t.saveAll(), rulesAfterFirst);
    // A third run while the second still waits (a container restart racing the old one's exit).
    const third = start(t, env);
    await third.handedOff();
    assert.equal(t.saveAll(), rulesAfterFirst);
    assert.equal((rulesAfterFirst.match(/-j PORTICO-LB-DNAT-TCP-80/g) ?? []).length, 2, 'one PREROUTING jump per family');
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.match(t.probe('tcp', ADDR.pod6, 80, ADDR.client6), echoFrom(ADDR.podBackend6));
    assert.equal(await second.terminate(), 0);
    assert.equal(await third.terminate(), 0);
  });
});

describe('forwarding sysctls', () => {
  const t = new Topology('sysctl');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('IPv6 forwarding 0: IPv6 skipped with a warning naming the sysctl, IPv4 forwarded', async () => {
    t.setForwarding(true, false);
    const before6 = t.save('IPv6');
    const f = start(t, klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: `${ADDR.backend4},${ADDR.backend6}` }));
    await f.handedOff();
    const warn = f.logs().find((l) => l['event'] === 'familySkipped');
    assert.deepEqual(warn && [warn['level'], warn['family'], warn['sysctl'], warn['value']], ['warn', 'IPv6', 'net.ipv6.conf.all.forwarding', '0']);
    assert.equal(t.save('IPv6'), before6, 'nothing written to ip6tables');
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.equal(await f.terminate(), 0);
  });

  test('both forwarding sysctls 0: exit 1, nothing applied', async () => {
    t.setForwarding(false, false);
    const beforeAll = t.saveAll();
    const f = start(t, klipperEnv({ srcPort: 81, proto: 'TCP', destPort: 8080, destIPs: `${ADDR.backend4},${ADDR.backend6}` }));
    assert.equal(await f.exitCode(), 1);
    assert.equal(t.saveAll(), beforeAll);
    assert.ok(f.logs().some((l) => l['level'] === 'error' && /nothing can be forwarded/.test(String(l['msg']))));
    t.setForwarding(true, true);
  });
});

describe('bad input', () => {
  const t = new Topology('bad');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  const good = klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 });
  const cases: { name: string; env: Record<string, string>; lines: RegExp[] }[] = [
    { name: 'port out of range', env: { ...good, SRC_PORT: '65536' }, lines: [/^lb-forwarder: invalid SRC_PORT: "65536": must be a port number 1-65535$/] },
    { name: 'unknown protocol', env: { ...good, DEST_PROTO: 'ICMP' }, lines: [/^lb-forwarder: invalid DEST_PROTO: "ICMP": must be one of TCP, UDP, SCTP$/] },
    { name: 'malformed IP', env: { ...good, DEST_IPS: '10.80.2.2,10.80.2.256' }, lines: [/^lb-forwarder: invalid DEST_IPS: "10\.80\.2\.256": not an IP address/] },
    { name: 'malformed CIDR', env: { ...good, SRC_RANGES: '10.80.1.0/24,fd80::/129' }, lines: [/^lb-forwarder: invalid SRC_RANGES: "fd80::\/129": not a CIDR/] },
    { name: 'DEST_IPS empty', env: { ...good, DEST_IPS: '' }, lines: [/^lb-forwarder: invalid DEST_IPS: "": is required/] },
    { name: 'DEST_PORT 0', env: { ...good, DEST_PORT: '0' }, lines: [/^lb-forwarder: invalid DEST_PORT: "0": port 0 cannot be forwarded to/] },
    { name: 'several problems at once', env: { ...good, SRC_PORT: 'http', DEST_PORT: '99999' }, lines: [/invalid SRC_PORT: "http"/, /invalid DEST_PORT: "99999"/] },
  ];
  for (const c of cases) {
    test(`${c.name}: exit 2, one line per problem, iptables unchanged`, async () => {
      const beforeAll = t.saveAll();
      const f = start(t, c.env);
      assert.equal(await f.exitCode(), 2);
      const lines = f.stderr.trim().split('\n');
      assert.equal(lines.length, c.lines.length, f.stderr);
      lines.forEach((l, i) => assert.match(l, c.lines[i]!));
      assert.equal(f.stdout, '', 'no JSON logs: nothing was started');
      assert.equal(t.saveAll(), beforeAll);
    });
  }
});

describe('iptables backends', () => {
  const t = new Topology('legacy');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('PORTICO_IPTABLES_BACKEND=legacy: rules in the legacy tables only, traffic flows', async () => {
    const f = start(t, { ...klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 }), PORTICO_IPTABLES_BACKEND: 'legacy' });
    await f.handedOff();
    assert.match(t.save('IPv4', 'legacy'), /-A PORTICO-LB-FWD-TCP-80 -p tcp -m tcp --dport 8080 -j ACCEPT/);
    assert.doesNotMatch(t.save('IPv4', 'nft'), /PORTICO/);
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.equal(await f.terminate(), 0);
  });

  test('two legacy containers starting at the same time both apply (restore retried if the table changed)', async () => {
    const a = start(t, { ...klipperEnv({ srcPort: 8081, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 }), PORTICO_IPTABLES_BACKEND: 'legacy' });
    const b = start(t, { ...klipperEnv({ srcPort: 8082, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 }), PORTICO_IPTABLES_BACKEND: 'legacy' });
    await Promise.all([a.handedOff(), b.handedOff()]);
    assert.match(t.probe('tcp', ADDR.pod4, 8081, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.match(t.probe('tcp', ADDR.pod4, 8082, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.equal(await a.terminate(), 0);
    assert.equal(await b.terminate(), 0);
  });

  test('auto after a legacy run in the same pod stays on legacy (the backend holding rules wins)', async () => {
    const f = start(t, klipperEnv({ srcPort: 53, proto: 'UDP', destPort: 5353, destIPs: ADDR.backend4 }));
    await f.handedOff();
    const sel = f.logs().find((l) => l['event'] === 'backendSelected');
    assert.equal(sel?.['mode'], 'legacy', JSON.stringify(sel));
    assert.match(t.probe('udp', ADDR.pod4, 53, ADDR.client4), echoFrom(ADDR.podBackend4));
    assert.equal(await f.terminate(), 0);
  });
});

// SCTP is a kernel property: the rules are always applied and checked; traffic needs kernel SCTP
// sockets (and python3 to speak SCTP, which Node cannot).
const sctpSocket = sh('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)']).code === 0;

describe('SCTP', () => {
  const t = new Topology('sctp');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test(`SCTP rules applied and read back; SCTP traffic checked only where the kernel has SCTP (this kernel: ${sctpSocket ? 'has SCTP, traffic checked' : 'no SCTP sockets, traffic not checked'})`, async () => {
    const f = start(t, klipperEnv({ srcPort: 9999, proto: 'SCTP', destPort: 9000, destIPs: `${ADDR.backend4},${ADDR.backend6}` }));
    await f.handedOff();
    assert.match(t.save('IPv4'), /-A PORTICO-LB-DNAT-SCTP-9999 -p sctp -m sctp --dport 9999 -j DNAT --to-destination 10\.80\.2\.2:9000/);
    assert.match(t.save('IPv6'), /-A PORTICO-LB-FWD-SCTP-9999 -p sctp -m sctp --dport 9000 -j ACCEPT/);
    if (sctpSocket) {
      const server = `import socket
s=socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('${ADDR.backend4}', 9000)); s.listen(1); s.settimeout(5); c,a=s.accept(); c.send(('echo:'+c.recv(64).decode()+':from='+a[0]).encode()); c.close()`;
      const srv = sh('sh', ['-c', `ip netns exec ${t.backend} python3 -c "$0" & sleep 0.5; ip netns exec ${t.client} python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP); s.settimeout(3); s.bind(('${ADDR.client4}',0)); s.connect(('${ADDR.pod4}',9999)); s.send(b'hello-1'); print(s.recv(64).decode())"; wait`, server]);
      assert.match(srv.stdout.trim(), echoFrom(ADDR.podBackend4), srv.stderr);
    }
    assert.equal(await f.terminate(), 0);
  });
});

describe('--waiter none (explicit fallback: stay in Node)', () => {
  const t = new Topology('nowait');
  beforeAll(() => t.create());
  afterAll(() => t.destroy());

  test('the Node process stays, serves no port, and exits 0 on SIGTERM', async () => {
    const f = start(t, { ...klipperEnv({ srcPort: 80, proto: 'TCP', destPort: 8080, destIPs: ADDR.backend4 }), PORTICO_WAITER: 'none' });
    await f.stayingResident();
    assert.match(t.probe('tcp', ADDR.pod4, 80, ADDR.client4), echoFrom(ADDR.podBackend4));
    const warn = f.logs().find((l) => l['event'] === 'stayingResident');
    assert.equal(warn?.['level'], 'warn');
    assert.equal(await f.terminate(), 0);
    assert.ok(f.logs().some((l) => l['event'] === 'exited' && l['signal'] === 'SIGTERM'));
  });
});
