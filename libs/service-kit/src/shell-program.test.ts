import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { Sink } from '@portico/testing';
import { runProgram } from './cli.ts';
import { shellProgram } from './shell-program.ts';

const program = shellProgram({ name: 'demo', summary: 'a demo app', metricsAddr: ':10999' });

function io() {
  return { stdout: new Sink(), stderr: new Sink(), env: {} };
}

test('shellProgram: --help lists run and render, run --help shows the default port', async () => {
  const i = io();
  assert.equal(await runProgram(program, ['--help'], i), 0);
  assert.match(i.stdout.text, /^ {2}run +Run the long-running service$/m);
  assert.match(i.stdout.text, /^ {2}render +Print what the core would produce/m);
  const j = io();
  assert.equal(await runProgram(program, ['run', '--help'], j), 0);
  assert.match(j.stdout.text, /--metrics-addr <string> .*default :10999/);
});

for (const command of ['run', 'render']) {
  test(`shellProgram: ${command} says plainly that the core is not in this build, exit 1`, async () => {
    const i = io();
    assert.equal(await runProgram(program, [command], i), 1);
    assert.equal(i.stderr.text, `demo: '${command}' is not available in this build: the demo core is tracked in its own issue\n`);
  });
}

test('shellProgram: flags are validated before anything else (exit 2)', async () => {
  const i = io();
  assert.equal(await runProgram(program, ['run', '--metrics-addr', 'nowhere'], i), 2);
  assert.match(i.stderr.text, /invalid --metrics-addr \/ PORTICO_METRICS_ADDR: "nowhere"/);
});
