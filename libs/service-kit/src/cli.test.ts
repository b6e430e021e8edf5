import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { Sink } from '@portico/testing';
import { runProgram, type Program } from './cli.ts';

function program(calls: string[]): Program {
  return {
    name: 'demo',
    summary: 'a demo',
    defaultCommand: 'run',
    commands: [
      { name: 'run', summary: 'run it', flags: [{ name: 'n', type: 'int', default: 1, description: 'count' }], run: (c) => (calls.push(`run n=${String(c.values['n'])}`), 0) },
      { name: 'render', summary: 'render it', args: 'FILE...', flags: [], run: (c) => (calls.push(`render ${c.positionals.join(' ')}`), 3) },
    ],
  };
}

function io() {
  return { stdout: new Sink(), stderr: new Sink(), env: {} };
}

test('runProgram: dispatches to the named command and returns its exit code', async () => {
  const calls: string[] = [];
  const i = io();
  assert.equal(await runProgram(program(calls), ['render', 'a.yaml', '-'], i), 3);
  assert.deepEqual(calls, ['render a.yaml -']);
});

test('runProgram: flags alone run the default command', async () => {
  const calls: string[] = [];
  assert.equal(await runProgram(program(calls), ['--n', '4'], io()), 0);
  assert.equal(await runProgram(program(calls), [], io()), 0);
  assert.deepEqual(calls, ['run n=4', 'run n=1']);
});

test('runProgram: usage errors exit 2, name the problem and run nothing', async () => {
  const calls: string[] = [];
  const i = io();
  assert.equal(await runProgram(program(calls), ['run', '--n', 'x'], i), 2);
  assert.deepEqual(i.stderr.lines(), ['demo run: invalid --n: "x": must be an integer']);
  const j = io();
  assert.equal(await runProgram(program(calls), ['bogus'], j), 2);
  assert.match(j.stderr.text, /unknown command "bogus"/);
  assert.deepEqual(calls, []);
});

test('runProgram: --help for the program and for a command tells the truth', async () => {
  const calls: string[] = [];
  const i = io();
  assert.equal(await runProgram(program(calls), ['--help'], i), 0);
  assert.match(i.stdout.text, /Commands:\n {2}run +run it\n {2}render +render it/);
  const j = io();
  assert.equal(await runProgram(program(calls), ['render', '--help'], j), 0);
  assert.match(j.stdout.text, /Usage: demo render \[flags\] FILE\.\.\./);
  const k = io();
  assert.equal(await runProgram(program(calls), ['help', 'run'], k), 0);
  assert.match(k.stdout.text, /--n <int> +count \(default 1\)/);
  assert.deepEqual(calls, []);
});
