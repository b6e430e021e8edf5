import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from '@portico/service-kit';
import { expectGolden, Sink } from '@portico/testing';
import { createProgram } from './cli.ts';
import { failed, ok, RecordingRunner } from '@portico/iptables/testing';
import { toolsFor } from '@portico/iptables/adapter';

const data = (name: string): string => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

async function cli(argv: string[], opts: { runner?: RecordingRunner; env?: Record<string, string> } = {}) {
  const stdout = new Sink();
  const stderr = new Sink();
  const runner = opts.runner ?? new RecordingRunner();
  let started = false;
  const program = createProgram({
    runner,
    // No probing of the test machine's binaries: the backend named by the flag (nft for auto).
    resolveTools: async (_r, choice) => toolsFor(choice === 'auto' ? 'nft' : choice),
    startAgent: async () => {
      started = true;
      return 0;
    },
  });
  const code = await runProgram(program, argv, { stdout, stderr, env: opts.env ?? {} });
  return { code, stdout: stdout.text, stderr: stderr.lines(), runner, started };
}

const writes = (r: RecordingRunner) => r.calls.filter((c) => c.args.includes('restore') || c.cmd.endsWith('-restore'));

describe('netpol-agent CLI', () => {
  it('render prints the ipset and iptables-restore input per family (golden)', async () => {
    const r = await cli(['render', '--node', 'n1', '--snapshot', data('snapshot.yaml')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    expectGolden(data('render-n1.golden'), r.stdout);
    assert.match(r.stdout, /# netpol-agent render: node n1, family IPv6/, 'families come from the node addresses (auto)');
    assert.equal(r.runner.calls.length, 0, 'render touches no kernel');
  });

  it('render takes positional files and honours --families and --profile k3s-fork', async () => {
    const r = await cli(['render', '--node', 'n1', '--families', 'IPv4', '--profile', 'k3s-fork', data('snapshot.yaml')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.doesNotMatch(r.stdout, /family IPv6/);
    assert.match(r.stdout, /-I INPUT 2 .*KUBE-ROUTER rule to explicitly ACCEPT/);
    assert.match(r.stdout, /--nflog-prefix "DROP by policy x\/web"/);
  });

  it('bad flags: exit 2, one line per problem naming flag, variable and value, nothing run', async () => {
    const r = await cli([
      'apply',
      '--node',
      'n1',
      '--service-cidrs',
      '10.43.0.0/33',
      '--node-port-range',
      '32767-30000',
      '--families',
      'ipx',
      '--nflog-group',
      '70000',
      '--nflog-limit',
      '10/fortnight',
      '--iptables-backend',
      'iptables-ng',
      '--profile',
      'k3s',
      data('snapshot.yaml'),
    ]);
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.map((l) => l.replace(/: .*/, '')), Array(7).fill('netpol-agent apply'));
    for (const [field, value] of [
      ['--service-cidrs / PORTICO_SERVICE_CIDRS', '10.43.0.0/33'],
      ['--node-port-range / PORTICO_NODE_PORT_RANGE', '32767-30000'],
      ['--families / PORTICO_NETPOL_FAMILIES', 'ipx'],
      ['--nflog-group / PORTICO_NFLOG_GROUP', '70000'],
      ['--nflog-limit / PORTICO_NFLOG_LIMIT', '10/fortnight'],
      ['--iptables-backend / PORTICO_IPTABLES_BACKEND', 'iptables-ng'],
      ['--profile / PORTICO_NETPOL_PROFILE', 'k3s'],
    ]) {
      assert.ok(r.stderr.some((l) => l.includes(`invalid ${field}: "${value}"`)), `${field} not reported:\n${r.stderr.join('\n')}`);
    }
    assert.equal(r.runner.calls.length, 0, 'nothing ran');
  });

  it('environment variables are read when flags are absent, and validated the same way', async () => {
    const r = await cli(['render', data('snapshot.yaml')], { env: { NODE_NAME: 'n1', PORTICO_NODE_PORT_RANGE: '1-0' } });
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr, ['netpol-agent render: invalid --node-port-range / PORTICO_NODE_PORT_RANGE: "1-0": the first port must be lower than the second']);
  });

  it('an invalid NetworkPolicy in the snapshot is bad input: exit 2 naming the object and field, nothing applied', async () => {
    const r = await cli(['apply', '--node', 'n1', data('snapshot.yaml'), data('bad-policy.yaml')]);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.some((l) => l.includes('NetworkPolicy x/bad') && l.includes('operator')), r.stderr.join('\n'));
    assert.ok(r.stderr.some((l) => l.includes('NetworkPolicy x/bad') && l.includes('70000')), r.stderr.join('\n'));
    assert.equal(writes(r.runner).length, 0);
  });

  it('objects of the wrong shape: exit 2, one line per problem naming object, field and value; no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpol-cli-'));
    const file = join(dir, 'shapes.yaml');
    const np = (name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: x, name: ${name}}\n${spec}`;
    writeFileSync(
      file,
      [
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}',
        'apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: p, labels: "app=web"}\nstatus: {podIP: 10.42.0.9}',
        np('map-ingress', 'spec: {podSelector: {}, ingress: {from: []}}'),
        np('string-from', 'spec: {podSelector: {}, ingress: [{from: everyone, ports: "80"}]}'),
        np('string-selector', 'spec: {podSelector: "app=web"}'),
        np('no-spec', ''),
        np('bad-port', 'spec: {podSelector: {}, ingress: [{ports: [{port: 0, protocol: ICMP}]}]}'),
      ].join('\n---\n'),
    );
    for (const cmd of ['render', 'apply']) {
      const r = await cli([cmd, '--node', 'n1', '--families', 'IPv4', file]);
      assert.equal(r.code, 2, r.stderr.join('\n'));
      assert.equal(r.runner.calls.length, 0, 'nothing applied');
      assert.equal(r.stdout, '');
      const text = r.stderr.join('\n');
      assert.doesNotMatch(text, /TypeError|\n\s+at /);
      for (const want of [
        'Pod x/p: metadata.labels: "app=web"',
        'NetworkPolicy x/map-ingress: spec.ingress: "{\\"from\\":[]}"',
        'NetworkPolicy x/string-from: spec.ingress[0].from: "everyone"',
        'NetworkPolicy x/string-from: spec.ingress[0].ports: "80"',
        'NetworkPolicy x/string-selector: spec.podSelector: "app=web"',
        'NetworkPolicy x/bad-port: spec.ingress[0].ports[0].protocol: "ICMP"',
        'NetworkPolicy x/bad-port: spec.ingress[0].ports[0].port: "0"',
      ]) {
        assert.ok(text.includes(want), `${cmd}: missing ${want} in\n${text}`);
      }
      assert.ok(!text.includes('no-spec'), 'a policy without spec is the API zero value, valid');
      const lines = r.stderr.filter((l) => l.includes('string-from: spec.ingress[0].from'));
      assert.equal(lines.length, 1, 'each problem printed once');
    }
  });

  it('apply prints each warning once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpol-cli-'));
    const file = join(dir, 'dup.yaml');
    const p = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: ${name}}\nspec: {nodeName: n1}\nstatus: {phase: Running, podIP: 10.42.0.9}`;
    writeFileSync(file, ['apiVersion: v1\nkind: Namespace\nmetadata: {name: x}', p('a'), p('b')].join('\n---\n'));
    const r = await cli(['apply', '--node', 'n1', '--families', 'IPv4', '--iptables-backend', 'nft', '--default-deny', 'false', file]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    const dups = r.stderr.filter((l) => l.includes('DuplicateAddress'));
    assert.equal(dups.length, 1, r.stderr.join('\n'));
    assert.match(dups[0]!, /warning: Pod x\/b: status.podIPs: "10.42.0.9": pod x\/a has the same address/);
  });

  it('unreadable or malformed snapshots: exit 2, nothing applied', async () => {
    for (const args of [['--snapshot', '/nonexistent/x.yaml'], []]) {
      const r = await cli(['apply', '--node', 'n1', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.length >= 1);
      assert.equal(r.runner.calls.length, 0);
    }
  });

  it('apply writes the plan and prints a JSON summary with its kernel writes', async () => {
    const r = await cli(['apply', '--node', 'n1', '--iptables-backend', 'nft', data('snapshot.yaml')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    const s = JSON.parse(r.stdout) as { outcome: string; writes: number; bytes: number; backend: string };
    assert.equal(s.outcome, 'applied');
    assert.equal(s.backend, 'nft');
    assert.equal(s.writes, writes(r.runner).length);
    assert.deepEqual(
      r.runner.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`),
      [
        'ipset save',
        'iptables-nft-save -t filter',
        'ip6tables-nft-save -t filter',
        'ipset restore',
        'iptables-nft-restore --noflush --wait 10',
        'ipset restore',
        'ip6tables-nft-restore --noflush --wait 10',
      ],
    );
  });

  it('apply exits 1 when the kernel rejects the rules, and says the previous state is in force', async () => {
    const runner = new RecordingRunner((c) => (c.cmd === 'iptables-nft-restore' ? failed(1, 'iptables-restore: line 7 failed') : ok()));
    const r = await cli(['apply', '--node', 'n1', '--iptables-backend', 'nft', '--families', 'IPv4', data('snapshot.yaml')], { runner });
    assert.equal(r.code, 1);
    const s = JSON.parse(r.stdout) as { families: { phase: string; rolledBack: boolean }[]; summary: object; notApplied: Record<string, { setsCreated: number }> };
    assert.deepEqual(s.families.map((f) => [f.phase, f.rolledBack]), [['iptables', true]]);
    assert.deepEqual(s.summary, {}, 'a failed family has no summary of things done');
    assert.ok(s.notApplied.IPv4!.setsCreated > 0, 'what it would have done is under notApplied');
  });

  it('cleanup removes only owned objects, and is a no-op on a clean kernel', async () => {
    const save4 = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':KUBE-ROUTER-INPUT - [0:0]',
      ':KUBE-POD-FW-AAAAAAAAAAAAAAAA - [0:0]',
      ':KUBE-FIREWALL - [0:0]',
      '-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
      '-A INPUT -j KUBE-FIREWALL',
      '-A KUBE-ROUTER-INPUT -s 10.42.0.10/32 -j KUBE-POD-FW-AAAAAAAAAAAAAAAA',
      'COMMIT',
    ].join('\n');
    const sets = 'create KUBE-SRC-AAAAAAAAAAAAAAAA hash:ip family inet hashsize 1024 maxelem 65536 timeout 0\ncreate cali40 hash:net family inet hashsize 1024 maxelem 65536\n';
    const runner = new RecordingRunner((c) => {
      if (c.cmd === 'iptables-nft-save') return ok(save4);
      if (c.cmd === 'ipset' && c.args[0] === 'save') return ok(sets);
      return ok();
    });
    const r = await cli(['cleanup', '--families', 'IPv4', '--iptables-backend', 'nft'], { runner });
    assert.equal(r.code, 0, r.stderr.join('\n'));
    const restore = runner.calls.find((c) => c.cmd === 'iptables-nft-restore')!;
    assert.equal(
      restore.input,
      [
        '*filter',
        ':KUBE-POD-FW-AAAAAAAAAAAAAAAA - [0:0]',
        ':KUBE-ROUTER-INPUT - [0:0]',
        '-D INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
        '-X KUBE-POD-FW-AAAAAAAAAAAAAAAA',
        '-X KUBE-ROUTER-INPUT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.equal(runner.calls.at(-1)!.input, 'destroy KUBE-SRC-AAAAAAAAAAAAAAAA\n');

    const clean = await cli(['cleanup', '--iptables-backend', 'nft']);
    assert.equal(clean.code, 0);
    assert.equal(JSON.parse(clean.stdout).writes, 0);
  });

  it('run: a missing node name or a bad duration is exit 2 before anything starts', async () => {
    const r = await cli(['run', '--resync-period', 'soon', '--min-sync-interval', '2m']);
    assert.equal(r.code, 2);
    assert.equal(r.started, false);
    assert.ok(r.stderr.some((l) => l.includes('--node-name / NODE_NAME') && l.includes('is required')));
    assert.ok(r.stderr.some((l) => l.includes('--resync-period / PORTICO_RESYNC_PERIOD: "soon"')));
    assert.ok(r.stderr.some((l) => l.includes('--min-sync-interval / PORTICO_MIN_SYNC_INTERVAL: "2m"')));
    const ok = await cli([], { env: { NODE_NAME: 'n1' } });
    assert.equal(ok.code, 0);
    assert.equal(ok.started, true, 'run is the default command');
  });

  it('--help of every command exits 0 and lists its flags', async () => {
    for (const cmd of ['run', 'render', 'apply', 'cleanup']) {
      const r = await cli([cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`netpol-agent ${cmd}:`));
    }
    const run = await cli(['run', '--help']);
    for (const f of ['--node-name', '--metrics-addr', '--service-cidrs', '--node-port-range', '--default-deny', '--nflog-group', '--iptables-backend', '--resync-period']) {
      assert.ok(run.stdout.includes(f), `run --help lacks ${f}`);
    }
    assert.match(run.stdout, /default :10271/);
    assert.match(run.stdout, /--resync-period .*default 5m\)/, 'durations shown as durations');
    assert.match(run.stdout, /--min-sync-interval .*default 1s\)/);
  });
});
