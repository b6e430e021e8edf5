import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { commandsFor, CANDIDATE_BINARIES, type BackendDecision } from '@portico/iptables';
import { failed, ok, RecordingRunner, type RecordedCall } from '@portico/iptables/testing';
import { createLogger } from '@portico/service-kit';
import { Sink } from '@portico/testing';
import { parseForwarderEnv, type ForwarderConfig } from './config.ts';
import { applyForwarding, renderForwarder, RESTORE_ATTEMPTS, selectFamilies } from './forwarder.ts';

const nftDecision: BackendDecision = { ok: true, backend: { mode: 'nft', reason: 'test', commands: commandsFor('nft', CANDIDATE_BINARIES)! } };

function cfg(env: Record<string, string> = {}): ForwarderConfig {
  const r = parseForwarderEnv({ SRC_PORT: '80', SRC_RANGES: '0.0.0.0/0,::/0', DEST_PROTO: 'TCP', DEST_PORT: '80', DEST_IPS: '10.43.0.10,fd00:43::10', ...env });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

const bothOn = (): string => '1';

function setup(handler?: (c: RecordedCall) => ReturnType<typeof ok>, sysctl: (n: string) => string | undefined = bothOn, decision: BackendDecision = nftDecision) {
  const sink = new Sink();
  const log = createLogger({ app: 'lb-forwarder', destination: sink, level: 'debug' });
  const runner = new RecordingRunner(handler ?? (() => ok('')));
  let detected = 0;
  const deps = { log, runner, sysctl, detect: async () => (detected++, decision) };
  return { sink, runner, deps, detections: () => detected };
}

test('fresh namespace: read, --test every family, then exactly ONE restore per family', async () => {
  const { runner, deps } = setup();
  const out = await applyForwarding(cfg(), deps);
  assert.deepEqual(out, { ok: true, families: ['IPv4', 'IPv6'], skipped: [] });
  assert.deepEqual(runner.commandLines(), [
    'iptables-nft-save',
    'iptables-nft-restore --noflush --test -w',
    'ip6tables-nft-save',
    'ip6tables-nft-restore --noflush --test -w',
    'iptables-nft-restore --noflush -w',
    'ip6tables-nft-restore --noflush -w',
  ]);
  const v4 = runner.calls[4]!.input!;
  assert.match(v4, /^\*nat\n[\s\S]*COMMIT\n\*filter\n[\s\S]*COMMIT\n$/, 'nat and filter in the same input');
  assert.equal(runner.calls[1]!.input, v4, 'the tested input is the applied input');
});

test('a family whose --test fails: nothing is applied in any family', async () => {
  const { runner, deps, sink } = setup((c) => (c.cmd.startsWith('ip6tables') && c.args.includes('--test') ? failed(2, "ip6tables-nft-restore: Couldn't load match `tcp'\nError occurred at line: 4\n") : ok('')));
  const out = await applyForwarding(cfg(), deps);
  assert.equal(out.ok, false);
  assert.ok(!runner.commandLines().some((l) => l.includes('restore') && !l.includes('--test')), runner.commandLines().join('\n'));
  const lines = sink.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  const errLine = lines.find((l) => l['level'] === 'error')!;
  assert.equal(errLine['op'], 'plan');
  assert.equal(errLine['family'], 'IPv6');
  const input = lines.find((l) => l['event'] === 'failedInput')!;
  assert.equal(input['level'], 'debug', 'full rule sets are logged at debug level only');
  assert.match(String(input['input']), /\*nat/);
});

test('IPv6 forwarding sysctl 0: IPv6 skipped with a warning naming the sysctl, IPv4 applied', async () => {
  const { runner, deps, sink } = setup(undefined, (n) => (n === 'net.ipv6.conf.all.forwarding' ? '0' : '1'));
  const out = await applyForwarding(cfg(), deps);
  assert.deepEqual(out, { ok: true, families: ['IPv4'], skipped: [{ family: 'IPv6', sysctl: 'net.ipv6.conf.all.forwarding', value: '0' }] });
  assert.ok(runner.commandLines().every((l) => l.startsWith('iptables-')));
  const warn = sink.lines().map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['event'] === 'familySkipped')!;
  assert.equal(warn['level'], 'warn');
  assert.equal(warn['msg'], 'IPv6 destinations skipped: net.ipv6.conf.all.forwarding is "0", not "1"');
});

test('no family can be forwarded (sysctls 0 or missing): failure, no command run, no backend probe', async () => {
  const { runner, deps, detections } = setup(undefined, (n) => (n === 'net.ipv4.ip_forward' ? '0' : undefined));
  const out = await applyForwarding(cfg(), deps);
  assert.equal(out.ok, false);
  if (!out.ok) assert.match(out.reason, /net.ipv4.ip_forward is "0".*net.ipv6.conf.all.forwarding is missing/);
  assert.deepEqual(runner.calls, []);
  assert.equal(detections(), 0);
});

test('no usable backend: failure naming the reason, nothing run', async () => {
  const { runner, deps } = setup(undefined, bothOn, { ok: false, reason: 'no iptables binaries found' });
  const out = await applyForwarding(cfg(), deps);
  assert.deepEqual(out, { ok: false, reason: 'no iptables binaries found' });
  assert.deepEqual(runner.calls, []);
});

test('a restart in the same namespace writes nothing: the planner finds every chain and jump in place', async () => {
  const first = setup();
  await applyForwarding(cfg({ DEST_IPS: '10.43.0.10' }), first.deps);
  const v4input = first.runner.calls.at(-1)!.input!;
  // What iptables-save prints after that input was applied to an empty namespace:
  const saved = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PORTICO-LB-DNAT-TCP-80 - [0:0]
:PORTICO-LB-MASQ-TCP-80 - [0:0]
-A PREROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-DNAT-TCP-80
-A POSTROUTING -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-MASQ-TCP-80
-A PORTICO-LB-DNAT-TCP-80 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:80
-A PORTICO-LB-MASQ-TCP-80 -d 10.43.0.10/32 -p tcp -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:PORTICO-LB-FWD-TCP-80 - [0:0]
-A FORWARD -m comment --comment "lb-forwarder TCP/80" -j PORTICO-LB-FWD-TCP-80
-A PORTICO-LB-FWD-TCP-80 -p tcp -m tcp --dport 80 -j ACCEPT
-A PORTICO-LB-FWD-TCP-80 -d 10.43.0.10/32 -p tcp -m tcp --dport 80 -j DROP
COMMIT
`;
  const second = setup((c) => (c.cmd.endsWith('-save') ? ok(saved) : ok('')));
  await applyForwarding(cfg({ DEST_IPS: '10.43.0.10' }), second.deps);
  assert.deepEqual(second.runner.commandLines().filter((l) => /-restore/.test(l)), [], 'no --test, no restore');
  assert.ok(second.sink.lines().some((l) => /rulesUnchanged/.test(l)));
  // The saved state above is what the first input leaves in an empty namespace.
  assert.deepEqual(saved.split('\n').filter((l) => l.startsWith('-A PORTICO')), v4input.split('\n').filter((l) => l.startsWith('-A ')));
});

test('render: per family, jumps included, skipped families as comments', () => {
  const c = cfg();
  const sel = selectFamilies(c, (n) => (n === 'net.ipv4.ip_forward' ? '1' : '0'));
  const text = renderForwarder(c, sel.families, sel.skipped);
  assert.match(text, /^# IPv4: input of `iptables-restore --noflush`\n\*nat\n/);
  assert.match(text, /\n-I FORWARD 1 -m comment --comment "lb-forwarder TCP\/80" -j PORTICO-LB-FWD-TCP-80\n(-A PORTICO-LB-FWD-TCP-80 .*\n)+COMMIT\n# IPv6 destinations skipped: net.ipv6.conf.all.forwarding is "0", not "1"\n$/);
});

test('a restore refused after --test passed (a sibling container changed the table) is re-read, re-planned and retried', async () => {
  let failures = 1;
  const { runner, deps, sink } = setup((c) => {
    if (c.cmd === 'iptables-nft-restore' && !c.args.includes('--test') && failures > 0) {
      failures--;
      return failed(4, 'iptables-nft-restore: line 9 failed: Resource temporarily unavailable\n');
    }
    return ok('');
  });
  const out = await applyForwarding(cfg({ DEST_IPS: '10.43.0.10' }), { ...deps, retryDelayMs: 1 });
  assert.equal(out.ok, true);
  assert.deepEqual(runner.commandLines(), [
    'iptables-nft-save',
    'iptables-nft-restore --noflush --test -w',
    'iptables-nft-restore --noflush -w',
    'iptables-nft-save',
    'iptables-nft-restore --noflush -w',
  ]);
  assert.ok(sink.lines().some((l) => /re-reading and retrying/.test(l)));
});

test('a restore that keeps failing gives up after RESTORE_ATTEMPTS tries', async () => {
  const { runner, deps } = setup((c) => (c.cmd === 'iptables-nft-restore' && !c.args.includes('--test') ? failed(4, 'line 2 failed\n') : ok('')));
  const out = await applyForwarding(cfg({ DEST_IPS: '10.43.0.10' }), { ...deps, retryDelayMs: 1 });
  assert.equal(out.ok, false);
  assert.equal(runner.commandLines().filter((l) => l === 'iptables-nft-restore --noflush -w').length, RESTORE_ATTEMPTS);
});
