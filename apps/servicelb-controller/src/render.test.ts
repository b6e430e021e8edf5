import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { runProgram } from '@portico/service-kit';
import { shuffled, Sink, writeClientNodeGuard } from '@portico/testing';
import { createProgram } from './cli.ts';
import { renderServiceLBCommand } from '@portico/servicelb-runtime';

const program = createProgram();

// `render` against the core engineer's scenario fixtures (libs/servicelb/testdata/scenarios): the
// CLI, libs/kube's snapshot loader and the core together must print exactly the core's golden
// files, whatever the order of documents and files, every time.

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const scenariosDir = join(repo, 'libs/servicelb/testdata/scenarios');
/** The core's golden files use this time and K3s's image (libs/servicelb/src/golden.test.ts). */
const GOLDEN_NOW = '2026-03-01T12:00:00Z';
const GOLDEN_IMAGE = 'rancher/klipper-lb:v0.4.17';
/** Scenarios whose golden file was made with a non-default config, and the flags that give it. */
const scenarioFlags: Record<string, string[]> = {
  rootless: ['--rootless'],
  'forwarding-init-container': ['--forwarder-image', 'ghcr.io/portico/lb-forwarder:0.1.0', '--forwarding-mode', 'init-container'],
};
/** The flags that render a scenario as its golden file was made (K3s's image and forwarding form unless the scenario says otherwise). */
const flagsOf = (name: string): string[] => ['--now', GOLDEN_NOW, ...(scenarioFlags[name]?.includes('--forwarder-image') ? [] : ['--forwarder-image', GOLDEN_IMAGE, '--forwarding-mode', 'sysctls']), ...(scenarioFlags[name] ?? [])];

const scenarios = readdirSync(scenariosDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => basename(f, '.yaml'))
  .sort();

async function render(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const command = program.commands.find((c) => c.name === 'render')!;
  let code: number;
  if (stdin === undefined) {
    code = await runProgram(program, ['render', ...args], { stdout, stderr, env: {} });
  } else {
    // runProgram has no stdin seam: parse through it, then call the command with a stdin stream.
    const { parseFlags } = await import('@portico/service-kit');
    const parsed = parseFlags(command.flags, args, {});
    assert.ok(parsed.ok);
    code = await renderServiceLBCommand({ values: parsed.values, positionals: parsed.positionals, io: { stdout, stderr, env: {} } }, program.name, Readable.from([stdin]));
  }
  return { code, out: stdout.text, err: stderr.text };
}

const tmp = mkdtempSync(join(tmpdir(), 'portico-slb-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('render with the core scenario fixtures', () => {
  it('has scenarios to check', () => {
    assert.ok(scenarios.length >= 15, `only ${scenarios.length} scenarios in ${scenariosDir}`);
  });

  for (const name of scenarios) {
    it(`${name}: prints the core's golden output, for any split and order of the input files`, async () => {
      const file = join(scenariosDir, `${name}.yaml`);
      const flags = flagsOf(name);
      const whole = await render([...flags, '--snapshot', file]);
      assert.equal(whole.err, '');
      assert.equal(whole.code, 0);
      assert.equal(whole.out, readFileSync(join(scenariosDir, `${name}.golden`), 'utf8'));

      // One document per file, files in shuffled order, half as --snapshot and half as arguments.
      const docs = parseAllDocuments(readFileSync(file, 'utf8'))
        .map((d) => d.toJS() as unknown)
        .filter((d) => d !== null && d !== undefined);
      const paths = docs.map((d, i) => {
        const p = join(tmp, `${name}-${i}.yaml`);
        writeFileSync(p, stringify(d));
        return p;
      });
      for (const seed of [1, 7, 42]) {
        const order = shuffled(paths, seed);
        const half = Math.ceil(order.length / 2);
        const split = await render([...flags, ...order.slice(0, half).flatMap((p) => ['--snapshot', p]), ...order.slice(half)]);
        assert.equal(split.code, 0, split.err);
        assert.equal(split.out, whole.out, `seed ${seed}`);
      }
      // The same objects as one v1 List (Lists flattened, order shuffled) on stdin.
      const items = docs.flatMap((d) => ((d as { kind?: string }).kind?.endsWith('List') ? ((d as { items?: unknown[] }).items ?? []) : [d]));
      const fromStdin = await render([...flags, '--snapshot', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: shuffled(items, 5) }));
      assert.equal(fromStdin.code, 0, fromStdin.err);
      assert.equal(fromStdin.out, whole.out);
    });
  }
});

describe('render: bad input exits 2 and names the problem', () => {
  it('a missing file, an unknown flag value and no file at all', async () => {
    const missing = await render(['--snapshot', join(tmp, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /nope\.yaml: cannot read: no such file/);
    assert.equal(missing.out, '');

    const badNs = await render(['--lb-namespace', 'Not_A_Namespace', '--program', 'K3S', join(scenariosDir, 'cluster-policy.yaml')]);
    assert.equal(badNs.code, 2);
    const lines = badNs.err.trim().split('\n');
    assert.equal(lines.length, 2, badNs.err);
    assert.match(lines[0]!, /--lb-namespace \/ PORTICO_LB_NAMESPACE: "Not_A_Namespace"/);
    assert.match(lines[1]!, /--program \/ PORTICO_PROGRAM: "K3S"/);

    const none = await render([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no snapshot file given/);

    const badNow = await render(['--now', 'yesterday', join(scenariosDir, 'cluster-policy.yaml')]);
    assert.equal(badNow.code, 2);
    assert.match(badNow.err, /--now: "yesterday"/);

    const notK8s = join(tmp, 'not-k8s.yaml');
    writeFileSync(notK8s, 'just: a map\n');
    const bad = await render([notK8s]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /not-k8s\.yaml: document 1: apiVersion is missing/);
  });

  // Issue 15's cases: each Service would have become a DaemonSet the API server rejects (or a stack trace).
  const SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: '35a5ccb3-4a82-40b7-8d83-cda9582e4251' }, spec: { type: 'LoadBalancer', clusterIP: '10.43.0.10', ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }] } };
  const NODE = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } };
  type Loose = { metadata: Record<string, unknown>; spec: Record<string, unknown> & { ports: Record<string, unknown>[] } };
  const cases: [string, (s: Loose) => void, string][] = [
    ['port as a string', (s) => (s.spec.ports[0]!['port'] = 'http'), 'Service default/web: spec.ports[0].port: "http": must be an integer between 1 and 65535, not a string'],
    ['negative port', (s) => (s.spec.ports[0]!['port'] = -5), 'Service default/web: spec.ports[0].port: "-5": must be an integer between 1 and 65535'],
    ['port 0', (s) => (s.spec.ports[0]!['port'] = 0), 'Service default/web: spec.ports[0].port: "0": must be an integer between 1 and 65535'],
    ['port above 65535', (s) => (s.spec.ports[0]!['port'] = 65536), 'Service default/web: spec.ports[0].port: "65536": must be an integer between 1 and 65535'],
    ['fractional port', (s) => (s.spec.ports[0]!['port'] = 1e20), 'Service default/web: spec.ports[0].port: "100000000000000000000": must be an integer between 1 and 65535'],
    ['protocol ICMP', (s) => (s.spec.ports[0]!['protocol'] = 'ICMP'), 'Service default/web: spec.ports[0].protocol: "ICMP": must be one of TCP, UDP, SCTP'],
    ['clusterIP 999.1.1.1', (s) => (s.spec['clusterIP'] = '999.1.1.1'), 'Service default/web: spec.clusterIP: "999.1.1.1": must be a valid IP address or None'],
    ['two ports named alike', (s) => s.spec.ports.push({ name: 'http', protocol: 'TCP', port: 81 }), 'Service default/web: spec.ports[1].name: "http": duplicate port name (also spec.ports[0].name)'],
    ['labels as a string', (s) => (s.metadata['labels'] = 'app=web'), 'Service default/web: metadata.labels: "app=web": must be a map, not a string'],
    ['ports as a map', (s) => (s.spec['ports'] = { http: { port: 80 } } as never), 'Service default/web: spec.ports: "{\\"http\\":{\\"port\\":80}}": must be a list, not a map'],
  ];
  for (const [name, change, line] of cases) {
    it(`an invalid Service (${name}): exit 2, one line naming object, field and value, nothing on stdout, no stack`, async () => {
      const svc = structuredClone(SERVICE) as unknown as Loose;
      change(svc);
      const file = join(tmp, `bad-${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, `${stringify(NODE)}---\n${stringify(svc)}`);
      const r = await render([file]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.out, '');
      const lines = r.err.trim().split('\n');
      assert.equal(lines[0], `servicelb-controller render: ${line}`);
      assert.match(lines[lines.length - 1]!, /problems?; nothing rendered/);
      assert.doesNotMatch(r.err, /\bat \S+ \(|TypeError|RangeError/);
    });
  }
});

describe('render as a process', () => {
  const exec = promisify(execFile);
  const node = process.execPath;
  const main = join(repo, 'apps/servicelb-controller/src/main.ts');

  it('never loads @kubernetes/client-node and prints the same bytes on every run', async () => {
    const guard = writeClientNodeGuard(tmp);
    const file = join(scenariosDir, 'local-policy.yaml');
    const args = ['--import', guard, '--import', 'tsx', main, 'render', '--forwarder-image', GOLDEN_IMAGE, '--forwarding-mode', 'sysctls', '--now', GOLDEN_NOW, file];
    const first = await exec(node, args, { cwd: repo });
    const second = await exec(node, args, { cwd: repo });
    assert.equal(first.stdout, readFileSync(join(scenariosDir, 'local-policy.golden'), 'utf8'));
    assert.equal(second.stdout, first.stdout);

    // The guard works: the same hook stops a process that does load client-node.
    const probe = join(tmp, 'probe.mjs');
    writeFileSync(probe, "await import('@kubernetes/client-node');\n");
    await assert.rejects(exec(node, ['--import', guard, probe], { cwd: repo }), /render loaded @kubernetes\/client-node/);
  });
});
