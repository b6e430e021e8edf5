import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProgram } from '@portico/service-kit';
import { Sink } from '@portico/testing';
import { program } from './cli.ts';

function io() {
  return { stdout: new Sink(), stderr: new Sink(), env: {} };
}

test('ccm --help lists run and render', async () => {
  const i = io();
  assert.equal(await runProgram(program, ['--help'], i), 0);
  assert.match(i.stdout.text, /^ {2}run +/m);
  assert.match(i.stdout.text, /^ {2}render +/m);
});

test('ccm run says plainly that its core is not in this build, exit 1', async () => {
  const i = io();
  assert.equal(await runProgram(program, ['run'], i), 1);
  assert.match(i.stderr.text, /'run' is not available in this build/);
});

test('ccm run validates flags before anything else (exit 2)', async () => {
  const i = io();
  assert.equal(await runProgram(program, ['run', '--metrics-addr', 'nowhere'], i), 2);
  assert.match(i.stderr.text, /invalid --metrics-addr \/ PORTICO_METRICS_ADDR: "nowhere"/);
});
