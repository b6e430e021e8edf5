// T1: tools/docker/runc-capfix, the runc wrapper for hosts whose capability bounding set lacks
// capabilities. A fake "real runc" prints its arguments; the wrapper runs under a bounding set narrowed
// with `setpriv --bounding-set`, so the result does not depend on this host's own bounding set.
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const WRAPPER = resolve(import.meta.dirname, '../../../tools/docker/runc-capfix');
let dir = '';

function requireTool(name: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`]);
  assert.equal(r.status, 0, `prerequisite missing: ${name} (apt-get install ${name === 'setpriv' ? 'util-linux' : name})`);
}

/** Runs the wrapper with CAP_SYS_RESOURCE and CAP_SYS_TIME dropped from the bounding set, an
 * oom_score_adj of 100 and a hard nofile limit of 4096; returns what the fake runc received. */
function runWrapper(args: readonly string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const script = 'echo 100 > /proc/self/oom_score_adj; ulimit -n 4096 || exit 90; exec "$@"';
  const r = spawnSync(
    'setpriv',
    ['--bounding-set', '-sys_resource,-sys_time', '--', 'sh', '-c', script, 'sh', WRAPPER, ...args],
    { encoding: 'utf8', env: { ...process.env, PORTICO_REAL_RUNC: join(dir, 'fake-runc'), ...env } },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function bundle(name: string, spec: unknown): string {
  const b = join(dir, name);
  mkdirSync(b, { recursive: true });
  writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
  return b;
}

const fullCaps = ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME'];

beforeAll(() => {
  assert.equal(process.getuid?.(), 0, 'prerequisite missing: root (setpriv --bounding-set needs CAP_SETPCAP)');
  for (const t of ['bash', 'jq', 'setpriv']) requireTool(t);
  dir = mkdtempSync(join(tmpdir(), 'portico-runc-capfix-'));
  writeFileSync(join(dir, 'fake-runc'), '#!/bin/sh\necho "real-runc $*"\n');
  chmodSync(join(dir, 'fake-runc'), 0o755);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('runc-capfix', () => {
  test('create: drops missing capabilities, raises oomScoreAdj, clamps rlimits, keeps 2^64-1 exact', () => {
    const b = bundle('create', {
      ociVersion: '1.2.0',
      process: {
        args: ['/sbin/init'],
        oomScoreAdj: -999,
        capabilities: { bounding: fullCaps, effective: fullCaps, permitted: fullCaps, inheritable: [], ambient: null },
        rlimits: [
          { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 },
          { type: 'RLIMIT_NPROC', hard: 1000, soft: 1000 },
        ],
      },
      linux: { resources: { memory: { limit: -1 } } },
    });
    // RLIMIT_CORE unlimited as the runtimes write it: an integer jq 1.6 cannot hold exactly.
    const raw = readFileSync(join(b, 'config.json'), 'utf8').replace(
      '"rlimits":[',
      '"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615},',
    );
    writeFileSync(join(b, 'config.json'), raw);

    const r = runWrapper(['--root', '/run/x', '--log', '/tmp/l', '--log-format', 'json', 'create', '--bundle', b, '--pid-file', 'p', 'ctr1']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `real-runc --root /run/x --log /tmp/l --log-format json create --bundle ${b} --pid-file p ctr1`);

    const text = readFileSync(join(b, 'config.json'), 'utf8');
    assert.match(text, /"hard":18446744073709551615,"soft":18446744073709551615/);
    const spec = JSON.parse(text);
    const kept = ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'];
    assert.deepEqual(spec.process.capabilities, { bounding: kept, effective: kept, permitted: kept, inheritable: [], ambient: null });
    assert.equal(spec.process.oomScoreAdj, 100);
    assert.deepEqual(spec.process.rlimits.slice(1), [
      { type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 },
      { type: 'RLIMIT_NPROC', hard: 1000, soft: 1000 },
    ]);
    assert.deepEqual(spec.linux, { resources: { memory: { limit: -1 } } });
  });

  test('a spec that needs nothing is left byte for byte', () => {
    const b = bundle('clean', { process: { args: ['sh'], oomScoreAdj: 500, capabilities: { bounding: ['CAP_KILL'] } } });
    const before = readFileSync(join(b, 'config.json'), 'utf8');
    const r = runWrapper(['run', `--bundle=${b}`, 'ctr2']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(b, 'config.json'), 'utf8'), before);
  });

  test('exec --process: the process file is fixed the same way', () => {
    const p = join(dir, 'process.json');
    writeFileSync(p, JSON.stringify({ args: ['sh'], capabilities: { bounding: fullCaps, effective: ['CAP_SYS_TIME'] } }));
    const r = runWrapper(['--root', '/run/x', 'exec', '--process', p, '--detach', 'ctr1']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')).capabilities, {
      bounding: ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
      effective: [],
    });
  });

  test('other commands pass through; without PORTICO_REAL_RUNC the first other runc on PATH is used', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    execFileSync('ln', ['-sf', WRAPPER, join(bin, 'runc')]);
    const other = join(dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'runc'), '#!/bin/sh\necho "other-runc $*"\n');
    chmodSync(join(other, 'runc'), 0o755);
    const r = spawnSync(join(bin, 'runc'), ['--version'], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${other}:/usr/bin:/bin` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'other-runc --version');
  });

  test('no real runc anywhere: exit 127 with a message', () => {
    // PATH holds only the wrapper (as runc) and the two tools it needs before looking for runc.
    const bin = join(dir, 'lonely');
    mkdirSync(bin, { recursive: true });
    execFileSync('ln', ['-sf', WRAPPER, join(bin, 'runc')]);
    for (const tool of ['bash', 'readlink']) {
      const path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      execFileSync('ln', ['-sf', path, join(bin, tool)]);
    }
    const r = spawnSync(join(bin, 'runc'), ['state', 'x'], { encoding: 'utf8', env: { PATH: bin } });
    assert.equal(r.status, 127);
    assert.match(r.stderr, /no real runc found/);
  });
});
