import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProgram } from '@portico/service-kit';
import { RecordingRunner } from '@portico/iptables';
import { Sink } from '@portico/testing';
import { createProgram, type ForwarderSystem } from './cli.ts';

const env = { SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10' };

function system(over: Partial<ForwarderSystem> = {}): { sys: ForwarderSystem; runner: RecordingRunner; logs: Sink } {
  const runner = new RecordingRunner();
  const logs = new Sink();
  const sys: ForwarderSystem = { runner, sysctl: () => '1', execve: undefined, isExecutable: () => false, waitForSignal: async () => 'SIGTERM', logDestination: logs, ...over };
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
