// Proves that lint enforces the module boundaries of DESIGN.md / STYLE rule 14, by linting small
// probe sources as if they lived in given projects (nothing is written to disk).
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

const cases: Array<{ name: string; file: string; code: string; rule?: string }> = [
  { name: 'an app may import a lib', file: 'apps/ccm/src/probe.ts', code: "import { programNames } from '@portico/labels';\nexport const n = programNames();\n" },
  { name: 'an app may not import another app', file: 'apps/ccm/src/probe.ts', code: "import { program } from '../../lb-forwarder/src/cli.ts';\nexport const p = program;\n", rule: '@nx/enforce-module-boundaries' },
  { name: 'a lib may not import an app', file: 'libs/labels/src/probe.ts', code: "import { program } from '../../../apps/ccm/src/cli.ts';\nexport const p = program;\n", rule: '@nx/enforce-module-boundaries' },
  { name: 'a core lib may not import an adapter lib', file: 'libs/labels/src/probe.ts', code: "import { createLogger } from '@portico/service-kit';\nexport const l = createLogger;\n", rule: '@nx/enforce-module-boundaries' },
  { name: 'a core lib may not do I/O', file: 'libs/labels/src/probe.ts', code: "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", rule: 'no-restricted-imports' },
  { name: 'a core lib may not read the clock', file: 'libs/labels/src/probe.ts', code: 'export const t = Date.now();\n', rule: 'no-restricted-properties' },
  { name: 'only libs/kube imports client-node', file: 'apps/ccm/src/probe.ts', code: "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n", rule: 'no-restricted-imports' },
  { name: 'libs/kube may import client-node', file: 'libs/kube/src/probe.ts', code: "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n" },
  { name: 'no argument spread of arrays in netpol/forwarder code', file: 'libs/netpol/src/probe.ts', code: 'export const a: number[] = [];\na.push(...[1, 2]);\n', rule: 'no-restricted-syntax' },
  { name: 'no argument spread into Math.max', file: 'apps/lb-forwarder/src/probe.ts', code: 'export const m = Math.max(...[1, 2]);\n', rule: 'no-restricted-syntax' },
  { name: 'a core lib may import the pure kernel layer', file: 'libs/netpol/src/probe.ts', code: "import { renderRestore } from '@portico/iptables';\nexport const r = renderRestore;\n" },
  { name: 'a core lib may not import the kernel adapter', file: 'libs/netpol/src/probe.ts', code: "import { nodeRunner } from '@portico/iptables/adapter';\nexport const r = nodeRunner;\n", rule: 'no-restricted-imports' },
  { name: 'the pure kernel layer may not import its adapter half', file: 'libs/iptables/src/probe.ts', code: "import { nodeRunner } from './adapter/runner-node.ts';\nexport const r = nodeRunner;\n", rule: 'no-restricted-imports' },
  { name: 'the pure kernel layer may not do I/O', file: 'libs/iptables/src/probe.ts', code: "import { spawn } from 'node:child_process';\nexport const s = spawn;\n", rule: 'no-restricted-imports' },
  { name: 'the kernel adapter may do I/O', file: 'libs/iptables/src/adapter/probe.ts', code: "import { spawn } from 'node:child_process';\nexport const s = spawn;\n" },
  { name: 'an app may import the kernel adapter', file: 'apps/lb-forwarder/src/probe.ts', code: "import { nodeRunner } from '@portico/iptables/adapter';\nexport const r = nodeRunner;\n" },
  { name: 'an app may not write restore text', file: 'apps/netpol-agent/src/probe.ts', code: "export const t = ['*filter', ':X - [0:0]', 'COMMIT'].join('\\n');\n", rule: 'no-restricted-syntax' },
  { name: 'an app may not build rule lines', file: 'apps/lb-forwarder/src/probe.ts', code: 'export const l = (c: string, r: string): string => `-A ${c} ${r}`;\n', rule: 'no-restricted-syntax' },
  { name: 'an app may not build ipset lines', file: 'apps/ccm/src/probe.ts', code: 'export const l = (s: string, e: string): string => `add ${s} ${e}`;\n', rule: 'no-restricted-syntax' },
  { name: 'an app may not parse save output', file: 'apps/netpol-agent/src/probe.ts', code: 'export const m = (l: string): boolean => /^-A (\\S+) (.*)$/.test(l);\n', rule: 'no-restricted-syntax' },
  { name: 'an app may use the kernel layer', file: 'apps/netpol-agent/src/probe.ts', code: "import { renderRestore } from '@portico/iptables';\nexport const t = renderRestore([{ table: 'filter', chains: [{ name: 'X' }], ops: [] }]);\n" },
  { name: 'a core lib may take a Clock and use the bounded runner', file: 'libs/netpol/src/probe.ts', code: "import { sleep, type Clock } from '@portico/runner';\nexport const s = (c: Clock): Promise<void> => sleep(c, 1);\n" },
  { name: 'a core lib may not import the process clock', file: 'libs/netpol/src/probe.ts', code: "import { realClock } from '@portico/runner/adapter';\nexport const c = realClock;\n", rule: 'no-restricted-imports' },
  { name: 'the runner lib reads Date.now only in its adapter half', file: 'libs/runner/src/probe.ts', code: 'export const t = Date.now();\n', rule: 'no-restricted-properties' },
  { name: 'the process clock may read Date.now', file: 'libs/runner/src/adapter/probe.ts', code: 'export const t = Date.now();\n' },
  { name: 'an app may not import a testing entry point', file: 'apps/ccm/src/probe.ts', code: "import { FakeKube } from '@portico/kube/testing';\nexport const f = FakeKube;\n", rule: 'no-restricted-imports' },
  { name: 'an app may not import libs/testing', file: 'apps/netpol-agent/src/probe.ts', code: "import { expectGolden } from '@portico/testing';\nexport const g = expectGolden;\n", rule: 'no-restricted-imports' },
  { name: 'an app may not import its own testing folder', file: 'apps/netpol-agent/src/probe.ts', code: "import { pod } from './testing/fixtures.ts';\nexport const p = pod;\n", rule: 'no-restricted-imports' },
  { name: 'a core lib may not import a testing entry point', file: 'libs/netpol/src/probe.ts', code: "import { FakeKernelRunner } from '@portico/iptables/testing';\nexport const f = FakeKernelRunner;\n", rule: 'no-restricted-imports' },
  { name: 'a core lib may not import its testing folder', file: 'libs/netpol/src/probe.ts', code: "import { Rng } from './testing/index.ts';\nexport const r = Rng;\n", rule: 'no-restricted-imports' },
  { name: 'libs/kube may not import its testing folder', file: 'libs/kube/src/probe.ts', code: "import { FakeKube } from './testing/fake-kube.ts';\nexport const f = FakeKube;\n", rule: 'no-restricted-imports' },
  { name: 'an adapter lib may not import a testing entry point', file: 'libs/servicelb-runtime/src/probe.ts', code: "import { FakeClock } from '@portico/runner/testing';\nexport const c = FakeClock;\n", rule: 'no-restricted-imports' },
  { name: 'a test may import testing entry points', file: 'apps/ccm/src/probe.test.ts', code: "import { FakeKube } from '@portico/kube/testing';\nimport { FakeClock } from '@portico/runner/testing';\nexport const f = [FakeKube, FakeClock];\n" },
  { name: 'a testing folder may import another testing entry point', file: 'libs/servicelb-runtime/src/testing/probe.ts', code: "import { FakeKube } from '@portico/kube/testing';\nexport const f = FakeKube;\n" },
  { name: 'an app may not spell a kube-router annotation', file: 'apps/netpol-agent/src/probe.ts', code: "export const k = 'kube-router.io/pod-cidrs';\n", rule: 'no-restricted-syntax' },
  { name: 'an app may not spell a K3s label', file: 'apps/ccm/src/probe.ts', code: "export const k = 'svccontroller.k3s.cattle.io/enablelb';\n", rule: 'no-restricted-syntax' },
  { name: 'a core lib may not spell a kube-router chain', file: 'libs/netpol/src/probe.ts', code: "export const c = 'KUBE-ROUTER-INPUT';\n", rule: 'no-restricted-syntax' },
  { name: 'an adapter lib may not spell a K3s node annotation', file: 'libs/servicelb-runtime/src/probe.ts', code: "export const k = 'k3s.io/node-args';\n", rule: 'no-restricted-syntax' },
  { name: 'libs/labels holds the compatibility names', file: 'libs/labels/src/probe.ts', code: "export const k = 'kube-router.io/pod-cidrs';\n" },
  { name: 'an app may not define an IP parser', file: 'apps/ccm/src/probe.ts', code: 'export function parseIP(s: string): string { return s; }\n', rule: 'no-restricted-syntax' },
  { name: 'an app may not define a save-output parser', file: 'apps/lb-forwarder/src/probe.ts', code: 'export const parseSaveLines = (s: string): string[] => s.split(String.fromCharCode(10));\n', rule: 'no-restricted-syntax' },
  { name: 'an app may not check IPs with node:net', file: 'apps/servicelb-controller/src/probe.ts', code: "import { isIP } from 'node:net';\nexport const f = isIP;\n", rule: 'no-restricted-syntax' },
  { name: 'an app may parse its own flags', file: 'apps/ccm/src/probe.ts', code: 'export function parseFlagsOfCcm(a: string[]): string[] { return a; }\n' },
  { name: 'deep imports into a lib are refused', file: 'apps/ccm/src/probe.ts', code: "import { programNames } from '../../../libs/labels/src/names.ts';\nexport const n = programNames;\n", rule: '@nx/enforce-module-boundaries' },
];

for (const c of cases) {
  test(`lint boundaries: ${c.name}`, async () => {
    const found = await problems(c.file, c.code);
    if (c.rule) assert.ok(found.some((p) => p.startsWith(`${c.rule}:`)), `expected ${c.rule}, got ${JSON.stringify(found)}`);
    else assert.deepEqual(found, []);
  });
}
