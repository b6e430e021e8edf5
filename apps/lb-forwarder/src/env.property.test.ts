/**
 * Property test of the lb-forwarder environment rendering (issue 15, fast-check): `render` with a
 * generated klipper-lb environment, valid or with one variable mutated (wrong types, out-of-range and
 * odd numbers, odd Unicode, garbage list entries, huge lists, missing). Whatever the input: exit 0 or
 * 2 only, never a stack trace, nothing rendered on exit 2; on exit 0 the rules accept exactly the
 * source ranges given, for the families that have destinations (an invalid entry never widens: it is
 * exit 2), and the output does not depend on the order of the SRC_RANGES entries (DEST_IPS order is
 * meaningful: klipper-lb's DNAT order). Cases: PORTICO_PROPERTY_RUNS (default 1000),
 * seed PORTICO_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { parseCIDRResult } from '@portico/ip-selection';
import { RecordingRunner } from '@portico/iptables/testing';
import { runProgram } from '@portico/service-kit';
import { shuffled, Sink } from '@portico/testing';
import { createProgram, type ForwarderSystem } from './cli.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);

const VARS = ['SRC_PORT', 'SRC_RANGES', 'DEST_PROTO', 'DEST_PORT', 'DEST_IPS'] as const;
type Env = Partial<Record<(typeof VARS)[number], string>>;

const port = fc.integer({ min: 1, max: 65535 }).map(String);
const cidr4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
const cidr6 = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`);
const validEnv: fc.Arbitrary<Env> = fc.record({
  SRC_PORT: port,
  SRC_RANGES: fc.array(fc.oneof(cidr4, cidr6), { minLength: 1, maxLength: 5 }).map((l) => l.join(',')),
  DEST_PROTO: fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', 'Udp'),
  DEST_PORT: port,
  DEST_IPS: fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
});
const badText: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.constantFrom('', ' ', '0', '-1', '65536', '1e3', '80.5', ' 80', '0x50', 'ICMP', 'tcp ', '10.0.0.0/33', '999.1.1.1', '::/129', ',', '10.0.0.1,,10.0.0.2', '10.0.0.1, 10.0.0.2', '\u0000', 'fe80::1%eth0'),
  fc.integer({ min: 2000, max: 20000 }).map((n) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join(',')),
  fc.integer({ min: 1000, max: 5000 }).map((n) => 'x'.repeat(n)),
);

function system(): ForwarderSystem {
  return { runner: new RecordingRunner(), sysctl: () => '1', writeSysctl: () => undefined, execve: undefined, isExecutable: () => false, waitForSignal: async () => 'SIGTERM', logDestination: new Sink() };
}

async function render(env: Env): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runProgram(createProgram(system), ['render', '--all-families'], { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const canonical = (c: string): string | undefined => {
  const r = parseCIDRResult(c.trim());
  return r.ok ? r.value.text : undefined;
};

describe(`lb-forwarder env render properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  it('exit 0 or 2, never a stack; exit 0 accepts exactly the given source ranges, in any input order', async () => {
    const counts = { 0: 0, 2: 0 };
    await fc.assert(
      fc.asyncProperty(validEnv, fc.option(fc.tuple(fc.constantFrom(...VARS), badText, fc.boolean())), fc.integer(), async (base, bad, seed) => {
        const env: Env = { ...base };
        if (bad) {
          const [name, value, append] = bad;
          // Replace the variable, or append a bad entry to a list variable.
          if (append && (name === 'SRC_RANGES' || name === 'DEST_IPS') && value !== undefined) env[name] = `${base[name]},${value}`;
          else if (value === undefined) delete env[name];
          else env[name] = value;
        }
        const r = await render(env);
        assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|RangeError/, 'no stack trace');
        counts[r.code as 0 | 2]++;
        if (r.code === 2) {
          assert.equal(r.stdout, '', 'nothing rendered on bad input');
          return;
        }
        // The accepted sources are exactly the given ranges of the families that have destinations
        // (a /0 is rendered without -s).
        const given = new Set(env.SRC_RANGES!.split(',').map(canonical));
        assert.ok(!given.has(undefined), 'exit 0 only when every range parses');
        const accepted = [...r.stdout.matchAll(/^-A \S+ (?:-s (\S+) )?-p \w+ -m \w+ --dport \d+ -j ACCEPT$/gm)].map((m) => m[1] ?? '/0');
        const destFamilies = new Set(env.DEST_IPS!.split(',').map((ip) => ip.includes(':')));
        const want = [...given].filter((g) => destFamilies.has(g!.includes(':'))).map((g) => (g!.endsWith('/0') ? '/0' : g!));
        assert.deepEqual(accepted.slice().sort(), want.sort(), `ACCEPT rules ${JSON.stringify(accepted)} for SRC_RANGES ${env.SRC_RANGES} and DEST_IPS ${env.DEST_IPS}`);
        const reordered = {
          ...env,
          SRC_RANGES: shuffled(env.SRC_RANGES!.split(','), seed).join(','),
        };
        assert.equal((await render(reordered)).stdout, r.stdout, 'independent of the order of SRC_RANGES');
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(counts[0] > RUNS / 10 && counts[2] > RUNS / 10, `both outcomes occur: ${JSON.stringify(counts)}`);
  });
});
