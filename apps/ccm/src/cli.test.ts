import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProgram } from '@portico/service-kit';
import { Sink } from '@portico/testing';
import { program } from './cli.ts';

test('ccm: the CLI shell answers --help with its own name and port :10258', async () => {
  const out = new Sink();
  assert.equal(await runProgram(program, ['run', '--help'], { stdout: out, stderr: new Sink(), env: {} }), 0);
  assert.match(out.text, /^ccm run: /);
  assert.match(out.text, /default :10258\b/);
});
