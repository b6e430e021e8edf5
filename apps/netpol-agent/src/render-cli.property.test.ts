/**
 * Property test of `netpol-agent render` as a user runs it (issue 15, fast-check): a snapshot file
 * of a generated cluster with one object mutated (wrong types, missing fields, odd Unicode, huge
 * lists) and sometimes extra documents that are not Kubernetes objects at all. Whatever the input:
 * exit 0 or 2 only, never a stack trace; exit 2 prints one line per problem and nothing on stdout;
 * exit 0 prints the rules. Cases: PORTICO_PROPERTY_RUNS (default 1000), seed PORTICO_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import fc from 'fast-check';
import { generateCase } from '@portico/netpol/testing';
import { runProgram } from '@portico/service-kit';
import { mutate, mutationOf, Sink, weirdValue } from '@portico/testing';
import { createProgram } from './cli.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);

type Kind = 'networkPolicies' | 'pods' | 'namespaces' | 'nodes';
const KIND: Record<Kind, [string, string]> = { networkPolicies: ['networking.k8s.io/v1', 'NetworkPolicy'], pods: ['v1', 'Pod'], namespaces: ['v1', 'Namespace'], nodes: ['v1', 'Node'] };
const mutation = mutationOf<Kind>(['networkPolicies', 'networkPolicies', 'pods', 'namespaces', 'nodes'], ['spec', 'ingress', 'from', 'ports', 'podSelector', 'status', 'metadata', 'zzz']);

describe(`netpol-agent render CLI properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-prop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const program = createProgram({});

  it('exit 0 or 2 only, never a stack trace; 2 names problems and prints no rules', async () => {
    const counts = { 0: 0, 2: 0 };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fffffff }), mutation, fc.array(weirdValue, { maxLength: 2 }), fc.integer({ min: 0, max: 9 }), async (seed, m, garbage, format) => {
        const asYaml = format === 0; // one case in ten through the YAML parser (ten times slower than JSON)
        const c = generateCase(seed);
        const snap = mutate(c.snapshot as unknown as Record<Kind, unknown[]>, m)?.mutated ?? (c.snapshot as unknown as Record<Kind, unknown[]>);
        const items: unknown[] = [];
        for (const kind of Object.keys(KIND) as Kind[]) {
          for (const o of snap[kind] ?? []) {
            const [apiVersion, k] = KIND[kind];
            // Typed objects keep their kind even when their content is garbage (else they are just ignored kinds).
            items.push(o !== null && typeof o === 'object' && !Array.isArray(o) ? { apiVersion, kind: k, ...o } : o);
          }
        }
        for (const g of garbage) items.push(g);
        const file = join(dir, `case.${asYaml ? 'yaml' : 'json'}`);
        const list = { apiVersion: 'v1', kind: 'List', items };
        writeFileSync(file, asYaml ? `# generated\n${JSON.stringify(list)}\n` : JSON.stringify(list));
        const stdout = new Sink();
        const stderr = new Sink();
        const code = await runProgram(program, ['render', '--node', 'n1', '--families', 'IPv4,IPv6', file], { stdout, stderr, env: {} });
        assert.ok(code === 0 || code === 2, `exit ${code}: ${stderr.text}`);
        assert.doesNotMatch(stderr.text, /\n\s+at |TypeError|RangeError|ReferenceError/, 'no stack trace');
        if (code === 2) {
          assert.equal(stdout.text, '', 'nothing rendered on bad input');
          assert.ok(stderr.lines().length > 0);
        } else assert.match(stdout.text, /^# netpol-agent render: node n1, family IPv4\n/);
        counts[code]++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(counts[0] > RUNS / 20 && counts[2] > RUNS / 5, `both outcomes occur: ${JSON.stringify(counts)}`);
  });
});
