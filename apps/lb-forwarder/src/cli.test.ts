import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { runProgram } from '@portico/service-kit';
import { RecordingRunner } from '@portico/iptables/testing';
import { Sink } from '@portico/testing';
import { createProgram, type ForwarderSystem } from './cli.ts';

const env = { SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10' };

function system(over: Partial<ForwarderSystem> = {}): { sys: ForwarderSystem; runner: RecordingRunner; logs: Sink } {
  const runner = new RecordingRunner();
  const logs = new Sink();
  const sys: ForwarderSystem = { runner, sysctl: () => '1', writeSysctl: () => undefined, execve: undefined, isExecutable: () => false, waitForSignal: async () => 'SIGTERM', logDestination: logs, ...over };
  return { sys, runner, logs };
}

function io(e: Record<string, string | undefined>) {
  return { stdout: new Sink(), stderr: new Sink(), env: e };
}

test('--help lists run and render; run --help documents the klipper-lb variables', async () => {
  const i = io({});
  assert.equal(await runProgram(createProgram(() => system().sys), ['--help'], i), 0);
  assert.match(i.stdout.text, /^ {2}run +/m);
  assert.match(i.stdout.text, /^ {2}render +/m);
  const j = io({});
  assert.equal(await runProgram(createProgram(() => system().sys), ['run', '--help'], j), 0);
  for (const v of ['SRC_PORT', 'SRC_RANGES', 'DEST_PROTO', 'DEST_PORT', 'DEST_IPS', '--waiter', 'PORTICO_WAITER', '--iptables-backend', 'PORTICO_IPTABLES_BACKEND']) assert.ok(j.stdout.text.includes(v), v);
});

test('bad input: exit 2, one line per problem naming variable and value, nothing run', async () => {
  const { sys, runner } = system();
  let touched = false;
  const i = io({ ...env, SRC_PORT: '70000', DEST_PROTO: 'gre', DEST_IPS: '' });
  assert.equal(await runProgram(createProgram(() => ((touched = true), sys)), [], i), 2);
  assert.deepEqual(i.stderr.lines(), [
    'lb-forwarder: invalid SRC_PORT: "70000": must be a port number 1-65535',
    'lb-forwarder: invalid DEST_PROTO: "gre": must be one of TCP, UDP, SCTP',
    'lb-forwarder: invalid DEST_IPS: "": is required: comma-separated IPs to forward to (ClusterIPs, or host IPs for a Local Service)',
  ]);
  assert.deepEqual(runner.calls, []);
  assert.equal(touched, false, 'the system is not even built on bad input');
});

test('render bad input: exit 2 too', async () => {
  const i = io({ ...env, DEST_PORT: '0' });
  assert.equal(await runProgram(createProgram(() => system().sys), ['render'], i), 2);
  assert.match(i.stderr.text, /^lb-forwarder: invalid DEST_PORT: "0": port 0 cannot be forwarded to/);
});

test('render prints the rules without running anything', async () => {
  const { sys, runner } = system();
  const i = io(env);
  assert.equal(await runProgram(createProgram(() => sys), ['render'], i), 0);
  assert.match(i.stdout.text, /^# IPv4: input of `iptables-restore --noflush`\n\*nat\n:PORTICO-LB-DNAT-TCP-80 - \[0:0\]\n/);
  assert.deepEqual(runner.calls, []);
});

test('render warns on stderr when a family has destinations but no source range (exit 0, rules still printed)', async () => {
  const i = io({ ...env, SRC_RANGES: '10.0.0.0/8', DEST_IPS: '10.43.0.10,fd00::10' });
  assert.equal(await runProgram(createProgram(() => system().sys), ['render'], i), 0);
  assert.deepEqual(i.stderr.lines(), ['lb-forwarder render: warning: SRC_RANGES has no IPv6 range: every IPv6 connection will be dropped']);
  assert.match(i.stdout.text, /# IPv6: input of `ip6tables-restore --noflush`/);
  const ok = io({ ...env, SRC_RANGES: '10.0.0.0/8,::/0', DEST_IPS: '10.43.0.10,fd00::10' });
  assert.equal(await runProgram(createProgram(() => system().sys), ['render'], ok), 0);
  assert.equal(ok.stderr.text, '');
});

test('render --all-families ignores the sysctls', async () => {
  const i = io({ ...env, DEST_IPS: '10.43.0.10,fd00::10' });
  assert.equal(await runProgram(createProgram(() => system({ sysctl: () => '0' }).sys), ['render', '--all-families'], i), 0);
  assert.match(i.stdout.text, /# IPv6: input of `ip6tables-restore --noflush`/);
  const j = io({ ...env, DEST_IPS: '10.43.0.10,fd00::10' });
  assert.equal(await runProgram(createProgram(() => system({ sysctl: () => '0' }).sys), ['render'], j), 0);
  assert.equal(j.stdout.text, '# IPv4 destinations skipped: net.ipv4.ip_forward is "0", not "1"\n# IPv6 destinations skipped: net.ipv6.conf.all.forwarding is "0", not "1"\n');
});

test('run: invalid --iptables-backend is exit 2', async () => {
  const i = io(env);
  assert.equal(await runProgram(createProgram(() => system().sys), ['run', '--iptables-backend', 'bpf'], i), 2);
  assert.match(i.stderr.text, /invalid --iptables-backend \/ PORTICO_IPTABLES_BACKEND: "bpf"/);
});

test('run: when nothing can be forwarded the exit code is 1 and JSON logs say why', async () => {
  const { sys, logs } = system({ sysctl: () => '0' });
  assert.equal(await runProgram(createProgram(() => sys), ['run'], io(env)), 1);
  const lines = logs.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]!['event'], 'starting');
  assert.ok(lines.some((l) => l['level'] === 'error' && /nothing can be forwarded/.test(String(l['msg']))));
});

test('enable-forwarding: writes 1 to each family\'s sysctl, reads it back, exits 0; nothing else runs', async () => {
  const values = new Map<string, string>([['net.ipv4.ip_forward', '0'], ['net.ipv6.conf.all.forwarding', '0']]);
  const { sys, runner, logs } = system({ sysctl: (n) => values.get(n), writeSysctl: (n, v) => void values.set(n, v) });
  const i = io({});
  assert.equal(await runProgram(createProgram(() => sys), ['enable-forwarding', '--families', 'IPv6,IPv4'], i), 0);
  assert.deepEqual([...values.entries()], [['net.ipv4.ip_forward', '1'], ['net.ipv6.conf.all.forwarding', '1']]);
  assert.deepEqual(runner.calls, [], 'no iptables call');
  assert.deepEqual(logs.lines().map((l) => (JSON.parse(l) as { event: string; family: string }).family), ['IPv6', 'IPv4']);
});

test('enable-forwarding: a sysctl that cannot be written or does not stick exits 1 naming it; every family is tried', async () => {
  const written: string[] = [];
  const { sys, logs } = system({
    sysctl: (n) => (n === 'net.ipv4.ip_forward' ? '0' : '1'),
    writeSysctl: (n) => {
      written.push(n);
      if (n === 'net.ipv6.conf.all.forwarding') throw new Error("EROFS: read-only file system, open '/proc/sys/net/ipv6/conf/all/forwarding'");
    },
  });
  const i = io({});
  assert.equal(await runProgram(createProgram(() => sys), ['enable-forwarding', '--families', 'IPv4', '--families', 'IPv6'], i), 1);
  assert.deepEqual(written, ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);
  const errors = logs.lines().map((l) => JSON.parse(l) as { event: string; msg: string });
  assert.deepEqual(errors.map((e) => e.event), ['forwardingFailed', 'forwardingFailed']);
  assert.match(errors[0]!.msg, /net\.ipv4\.ip_forward reads "0" after writing 1/);
  assert.match(errors[1]!.msg, /net\.ipv6\.conf\.all\.forwarding cannot write: EROFS: read-only file system/);
});

test('enable-forwarding: no family or an unknown one exits 2 before touching anything', async () => {
  let touched = false;
  const make = () => createProgram(() => ((touched = true), system().sys));
  const none = io({});
  assert.equal(await runProgram(make(), ['enable-forwarding'], none), 2);
  assert.match(none.stderr.text, /--families: no family given/);
  const bad = io({});
  assert.equal(await runProgram(make(), ['enable-forwarding', '--families', 'IPv4,IPX'], bad), 2);
  assert.match(bad.stderr.text, /--families: "IPv4,IPX": each family must be IPv4 or IPv6/);
  assert.equal(touched, false);
});
