import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createLogger } from '@portico/service-kit';
import { Sink } from '@portico/testing';
import { handOff, waiterInvocation, waitForTermination, WAIT_SCRIPT, WAITER_NAME, type Execve } from './handoff.ts';

class Replaced extends Error {}

function deps(over: Partial<Parameters<typeof handOff>[0]> = {}) {
  const sink = new Sink();
  const execs: { file: string; args: readonly string[]; env: NodeJS.ProcessEnv }[] = [];
  const execve: Execve = (file, args, env) => {
    execs.push({ file, args, env });
    throw new Replaced('process image replaced');
  };
  const d = {
    log: createLogger({ app: 'lb-forwarder', destination: sink }),
    waiter: '/bin/sh',
    execve,
    isExecutable: () => true,
    env: { PATH: '/usr/bin:/bin', TMPDIR: '/run/tmp', SRC_PORT: '80' },
    waitForSignal: async () => 'SIGTERM',
    ...over,
  };
  return { d, sink, execs };
}

test('hand-off: execve of the waiter with the wait script, PATH and TMPDIR only', async () => {
  const { d, execs, sink } = deps();
  await assert.rejects(handOff(d), Replaced);
  assert.deepEqual(execs, [{ file: '/bin/sh', args: ['/bin/sh', '-c', WAIT_SCRIPT, WAITER_NAME], env: { PATH: '/usr/bin:/bin', TMPDIR: '/run/tmp' } }]);
  const line = JSON.parse(sink.lines().at(-1)!) as Record<string, unknown>;
  assert.equal(line['event'], 'handoff', 'the hand-off is logged before the image is replaced');
});

const fallbacks: { name: string; over: Partial<Parameters<typeof handOff>[0]>; reason: RegExp }[] = [
  { name: 'Node without process.execve (Node 20)', over: { execve: undefined }, reason: /process.execve is not available/ },
  { name: 'a waiter that is not executable (a failed execve would abort Node)', over: { isExecutable: () => false, waiter: '/nope/sh' }, reason: /\/nope\/sh is not an executable file/ },
  { name: '--waiter none', over: { waiter: 'none' }, reason: /--waiter none/ },
];

for (const f of fallbacks) {
  test(`explicit fallback, staying in Node until the signal: ${f.name}`, async () => {
    const { d, execs, sink } = deps(f.over);
    assert.equal(await handOff(d), 0);
    assert.deepEqual(execs, []);
    const lines = sink.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    const warn = lines.find((l) => l['event'] === 'stayingResident')!;
    assert.equal(warn['level'], 'warn');
    assert.match(String(warn['reason']), f.reason);
    assert.deepEqual(lines.at(-1)!['event'], 'exited');
  });
}

test('waiterInvocation has a default PATH', () => {
  assert.match(waiterInvocation('/bin/sh', {}).env['PATH']!, /\/usr\/sbin/);
  assert.equal(waiterInvocation('/bin/sh', {}).env['TMPDIR'], undefined);
});

test('waitForTermination resolves with the first of SIGTERM/SIGINT and removes its listeners', async () => {
  const proc = new EventEmitter() as unknown as NodeJS.Process;
  const p = waitForTermination(proc);
  (proc as unknown as EventEmitter).emit('SIGINT');
  assert.equal(await p, 'SIGINT');
  assert.equal((proc as unknown as EventEmitter).listenerCount('SIGTERM'), 0);
});

test('the wait script traps TERM and INT before anything else and never busy-loops', () => {
  assert.match(WAIT_SCRIPT, /^trap 'exit 0' TERM INT\n/);
  assert.match(WAIT_SCRIPT, /read -r _ <&3/);
  assert.match(WAIT_SCRIPT, /sleep 86400 & s=\$!; wait "\$s"/, 'fallback without a FIFO');
});
