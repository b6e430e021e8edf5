import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { runProgram } from '@portico/service-kit';
import { expectGolden, shuffled, Sink, writeClientNodeGuard } from '@portico/testing';
import { createProgram } from './cli.ts';

const program = createProgram();

// `ccm render`: Node changes (and the hosted ServiceLB's output) for apps/ccm/testdata/nodes.yaml,
// against golden files (UPDATE_GOLDEN=1 rewrites them), in any input order, with no cluster access.

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const testdata = join(repo, 'apps/ccm/testdata');
const fixture = join(testdata, 'nodes.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'portico-ccm-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function render(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runProgram(program, ['render', ...args], { stdout, stderr, env: {} });
  return { code, out: stdout.text, err: stderr.text };
}

const FIXED = ['--now', '2026-03-01T12:00:00Z'];

describe('ccm render: invalid Nodes', () => {
  it('a Node whose taints are a map or whose addresses hold a number: exit 2, object, field and value named once, nothing on stdout', async () => {
    const file = join(tmp, 'bad-nodes.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {taints: {key: x}}\n',
        'apiVersion: v1\nkind: Node\nmetadata: {name: n2}\nstatus: {addresses: [{type: InternalIP, address: 7}]}\n',
      ].join('---\n'),
    );
    for (const args of [[file], ['--disable', 'servicelb', file]]) {
      const r = await render([...FIXED, ...args]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.out, '');
      const lines = r.err.trim().split('\n');
      assert.deepEqual(lines.slice(0, 2), ['ccm render: Node n1: spec.taints: "{\\"key\\":\\"x\\"}": must be a list, not a map', 'ccm render: Node n2: status.addresses[0].address: "7": must be a string']);
      assert.equal(lines.length, 3, r.err);
      assert.doesNotMatch(r.err, /TypeError|\bat \S+ \(/);
    }
  });
});

describe('ccm render', () => {
  it('prints the Node changes, then the hosted ServiceLB output; warnings on stderr (golden files)', async () => {
    const r = await render([...FIXED, fixture]);
    assert.equal(r.code, 0, r.err);
    expectGolden(join(testdata, 'render.golden'), r.out);
    expectGolden(join(testdata, 'render.stderr.golden'), r.err);
    assert.match(r.out, /kind: DaemonSet/);
  });

  it('--disable servicelb (also in a comma list) prints only the Node changes', async () => {
    const r = await render([...FIXED, '--disable', 'traefik,servicelb', fixture]);
    assert.equal(r.code, 0, r.err);
    expectGolden(join(testdata, 'render-disable-servicelb.golden'), r.out);
    assert.doesNotMatch(r.out, /DaemonSet|kind: Service/);
  });

  it('prints the same bytes for any order of the objects', async () => {
    const whole = await render([...FIXED, fixture]);
    const items = (parse(readFileSync(fixture, 'utf8')) as { items: unknown[] }).items;
    for (const seed of [2, 9, 31]) {
      const p = join(tmp, `shuffled-${seed}.json`);
      writeFileSync(p, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: shuffled(items, seed) }));
      const r = await render([...FIXED, '--snapshot', p]);
      assert.equal(r.out, whole.out, `seed ${seed}`);
      assert.equal(r.err, whole.err, `seed ${seed}`);
    }
  });

  it('bad input exits 2 naming the flag and value; nothing is printed', async () => {
    const bad = await render(['--disable', 'servicelb,ingress', fixture]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--disable \/ PORTICO_DISABLE: "servicelb,ingress": unknown name\(s\) ingress/);
    const prog = await render(['--program', 'K3S', '--disable', 'servicelb', fixture]);
    assert.equal(prog.code, 2);
    assert.match(prog.err, /invalid --program \/ PORTICO_PROGRAM: "K3S"/);
    const none = await render([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no snapshot file given/);
    assert.equal(bad.out + prog.out + none.out, '');
  });

  it('as a process never loads @kubernetes/client-node', async () => {
    const guard = writeClientNodeGuard(tmp);
    const exec = promisify(execFile);
    const r = await exec(process.execPath, ['--import', guard, '--import', 'tsx', join(repo, 'apps/ccm/src/main.ts'), 'render', ...FIXED, fixture], { cwd: repo });
    assert.equal(r.stdout, readFileSync(join(testdata, 'render.golden'), 'utf8'));
  });
});
