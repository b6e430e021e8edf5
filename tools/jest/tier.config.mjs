// Jest config for one test tier across every app and lib (tools/test/run-tier.sh sets PORTICO_TIER).
//   unit       src/**/*.test.ts, tools/lint two workers (the Nx `test` target runs the same per project)
//   dataplane  test/dataplane/**/*.test.ts one file at a time (network namespaces, iptables)
//   t2         test/t2/**/*.test.ts        one file at a time (one local control plane)
//   e2e        test/kind/**/*.test.ts      one file at a time (one kind cluster)
import preset from '../../jest.preset.mjs';

const TIERS = { unit: 'src', dataplane: 'test/dataplane', t2: 'test/t2', e2e: 'test/kind' };
const tier = process.env['PORTICO_TIER'] ?? '';
const dir = TIERS[tier];
if (!dir) throw new Error(`tools/jest/tier.config.mjs: PORTICO_TIER='${tier}' is not one of ${Object.keys(TIERS).join(', ')}`);
const serial = tier !== 'unit';

/** @type {import('jest').Config} */
export default {
  ...preset,
  rootDir: '../..',
  // Only the source trees: Jest would otherwise crawl .cache (kind builds, images) and dist too.
  roots: ['apps', 'libs', 'e2e', 'bench', 'tools', 'deploy'].map((d) => `<rootDir>/${d}`),
  displayName: tier,
  testMatch: [
    `<rootDir>/{apps,libs}/*/${dir}/**/*.test.ts`, `<rootDir>/{e2e,bench,tools,deploy}/${dir}/**/*.test.ts`,
    ...(tier === 'unit' ? ['<rootDir>/tools/lint/**/*.test.ts'] : []),
  ],
  ...(serial ? {
    maxWorkers: 1,
    // Long tests against real kernels and clusters: no time limit under node:test before (the
    // slowest T2 suites declared 300-600 s). 15 minutes per test still ends a hung one.
    testTimeout: 900_000,
    testSequencer: '<rootDir>/tools/jest/path-sequencer.mjs',
    verbose: true,
  } : {}),
};
