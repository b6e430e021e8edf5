/**
 * The ShellRunner (libs/iptables src/adapter/shell-runner.ts) against a real /bin/sh: exit codes, merged output,
 * here-document input taken literally (quotes, `$`, backticks, backslashes, a line that looks like an
 * end marker), a command that outlives its timeout, a missing command, the fallback for large inputs,
 * that an idle shell never keeps the process alive, and that a script cut short (the agent killed
 * while writing it) runs nothing. The netpol-agent data-plane test exercises it
 * with the real restore tools (its `apply` and `cleanup` write through it).
 */
import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingRunner } from '../../src/testing/index.ts';
import { nodeRunner } from '../../src/adapter/runner-node.ts';
import { ShellRunner, shellScript } from '../../src/adapter/shell-runner.ts';

describe('ShellRunner', () => {
  const need = spawnSync('/bin/sh', ['-c', 'command -v wc cat sleep printf'], { encoding: 'utf8' });
  if (need.status !== 0) assert.fail(`prerequisite missing: /bin/sh with wc, cat, sleep and printf (${need.stderr})`);

  it('runs commands in one shell, with their exit code and their output (stdout and stderr merged)', async () => {
    const sr = new ShellRunner({ fallback: nodeRunner() });
    try {
      assert.deepEqual(await sr.run('wc', ['-c'], { input: 'hello\n' }), { code: 0, stdout: '', stderr: '6\n' });
      const failed = await sr.run('sh', ['-c', 'echo out; echo "Error in line 3: x" >&2; exit 3']);
      assert.equal(failed.code, 3);
      assert.equal(failed.stderr, 'out\nError in line 3: x\n');
      assert.equal((await sr.run('printf', ['%s', 'no newline'])).stderr, 'no newline');
      const missing = await sr.run('portico-no-such-command', []);
      assert.equal(missing.code, 127);
      assert.equal(sr.viaShell, 4);
    } finally {
      sr.close();
    }
  });

  it('passes the input literally', async () => {
    const sr = new ShellRunner({ fallback: nodeRunner() });
    try {
      const input = "it's $HOME `id` \\n \"q\"\nPORTICO-EOF-x\nEOF\n-A KUBE-ROUTER-INPUT -m comment --comment \"a b\" -j RETURN\n";
      const r = await sr.run('cat', [], { input });
      assert.deepEqual(r, { code: 0, stdout: '', stderr: input });
      const q = await sr.run('printf', ['%s|', "a b", "it's", '$x']);
      assert.equal(q.stderr, "a b|it's|$x|");
    } finally {
      sr.close();
    }
  });

  it('kills a command that runs past the timeout and starts a new shell for the next one', async () => {
    const sr = new ShellRunner({ fallback: nodeRunner(), timeoutMs: 300 });
    try {
      const t0 = performance.now();
      const r = await sr.run('sleep', ['5']);
      assert.equal(r.code, 124);
      assert.ok(performance.now() - t0 < 3000, 'returned at the timeout');
      assert.deepEqual(await sr.run('wc', ['-c'], { input: 'ab\n' }), { code: 0, stdout: '', stderr: '3\n' });
    } finally {
      sr.close();
    }
  });

  it('sends inputs above maxInputBytes to the fallback runner', async () => {
    const fallback = new RecordingRunner(() => ({ code: 0, stdout: '', stderr: '' }));
    const sr = new ShellRunner({ fallback, maxInputBytes: 10 });
    try {
      await sr.run('cat', [], { input: 'x'.repeat(11) });
      assert.equal(fallback.calls.length, 1);
      assert.equal(sr.viaShell, 0);
    } finally {
      sr.close();
    }
  });

  it('without a usable shell every command runs through the fallback', async () => {
    const fallback = new RecordingRunner(() => ({ code: 0, stdout: '', stderr: 'from fallback' }));
    const sr = new ShellRunner({ fallback, shell: '/nonexistent/portico-sh' });
    try {
      assert.equal((await sr.run('wc', ['-c'], { input: 'x\n' })).stderr, 'from fallback');
      assert.equal((await sr.run('wc', ['-c'], { input: 'y\n' })).stderr, 'from fallback');
      assert.deepEqual(fallback.calls.map((c) => c.input), ['x\n', 'y\n']);
    } finally {
      sr.close();
    }
  });

  it('an idle shell does not keep the process alive', () => {
    const script = `import { nodeRunner } from '@portico/iptables/adapter';
import { ShellRunner } from ${JSON.stringify(fileURLToPath(new URL('../../src/adapter/shell-runner.ts', import.meta.url)))};
const sr = new ShellRunner({ fallback: nodeRunner() });
sr.start();
const r = await sr.run('wc', ['-c'], { input: 'abc\\n' });
process.stdout.write(r.stderr);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('../../../../', import.meta.url)) });
    assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '4\n');
  });

  it('a script cut anywhere before its end runs nothing (the agent killed with SIGKILL while writing it)', () => {
    // Without the braces of shellScript, dash runs the command on the here-document as far as it
    // got: an `ipset restore` would apply a last line cut in the middle (10.42.0.25 -> 10.42.0.2).
    const dir = mkdtempSync(join(tmpdir(), 'shell-cut-'));
    try {
      const out = join(dir, 'got');
      const input = 'add KUBE-SRC-X 10.42.0.25\nadd KUBE-SRC-X 10.42.0.26\n';
      const script = shellScript('tee', [out], input, 'f00d');
      const end = script.lastIndexOf('}');
      let ran = 0;
      for (let cut = 0; cut <= script.length; cut++) {
        rmSync(out, { force: true });
        spawnSync('/bin/sh', ['-s'], { input: script.slice(0, cut), encoding: 'utf8' });
        if (cut <= end) assert.ok(!existsSync(out), `the script cut at byte ${cut} of ${script.length} ran: ${JSON.stringify(script.slice(0, cut))}`);
        else {
          assert.equal(readFileSync(out, 'utf8'), input, `the whole script (cut at ${cut}) gives the command its whole input`);
          ran++;
        }
      }
      assert.equal(ran, script.length - end);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
