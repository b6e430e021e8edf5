// T1: `lb-forwarder enable-forwarding` (the svclb init container of --forwarding-mode=init-container)
// in a fresh network namespace: both forwarding sysctls go from 0 to 1 there, and the root
// namespace's values are untouched (the sysctls are per network namespace).
import { afterAll, beforeAll, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureBuilt, MAIN_JS, requirePrerequisites, sh } from './harness.ts';

const ns = `fwd-ef-${randomBytes(3).toString('hex')}`;
const SYSCTLS = { IPv4: '/proc/sys/net/ipv4/ip_forward', IPv6: '/proc/sys/net/ipv6/conf/all/forwarding' } as const;

const readIn = (path: string): string => {
  const r = sh('ip', ['netns', 'exec', ns, 'cat', path]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};
const readRoot = (path: string): string => {
  const r = sh('cat', [path]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};

beforeAll(() => {
  requirePrerequisites();
  ensureBuilt();
  const r = sh('ip', ['netns', 'add', ns]);
  assert.equal(r.code, 0, r.stderr);
});
afterAll(() => {
  sh('ip', ['netns', 'delete', ns]);
});

test('enable-forwarding turns on IPv4 and IPv6 forwarding in its own network namespace only', () => {
  const rootBefore = [readRoot(SYSCTLS.IPv4), readRoot(SYSCTLS.IPv6)];
  // A new namespace may inherit IPv4 forwarding from the root one (net.core.devconf_inherit_init_net): start from off.
  for (const p of Object.values(SYSCTLS)) assert.equal(sh('ip', ['netns', 'exec', ns, 'sh', '-c', `echo 0 > ${p}`]).code, 0);
  assert.deepEqual([readIn(SYSCTLS.IPv4), readIn(SYSCTLS.IPv6)], ['0', '0']);
  const r = sh('ip', ['netns', 'exec', ns, process.execPath, MAIN_JS, 'enable-forwarding', '--families', 'IPv4,IPv6']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const events = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: string; sysctl: string }));
  assert.deepEqual(events.map((e) => `${e.event} ${e.sysctl}`), ['forwardingEnabled net.ipv4.ip_forward', 'forwardingEnabled net.ipv6.conf.all.forwarding']);
  assert.deepEqual([readIn(SYSCTLS.IPv4), readIn(SYSCTLS.IPv6)], ['1', '1']);
  assert.deepEqual([readRoot(SYSCTLS.IPv4), readRoot(SYSCTLS.IPv6)], rootBefore, 'the root namespace is untouched');
  // Idempotent: a restarted init container succeeds again.
  assert.equal(sh('ip', ['netns', 'exec', ns, process.execPath, MAIN_JS, 'enable-forwarding', '--families', 'IPv6']).code, 0);
});
