// The Jest settings every project and every tier shares (docs/decisions.md D4).
// Test files are TypeScript ES modules: @swc/jest strips the types (no type-check here: `npm run
// typecheck` does that once for the repo) and keeps `import`/`export`, and Jest runs them as native
// ESM, which needs `node --experimental-vm-modules` (tools/jest/jest adds it). That is how
// ESM-only dependencies such as @kubernetes/client-node 2.x load.
import { readFileSync } from 'node:fs';

const root = import.meta.dirname;

/** `@portico/<lib>` imports resolve as tsconfig.base.json's `paths` say (one source of truth). */
function moduleNameMapper() {
  const { paths } = JSON.parse(readFileSync(`${root}/tsconfig.base.json`, 'utf8')).compilerOptions;
  const map = {};
  for (const [name, [target]] of Object.entries(paths)) {
    map[`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`] = `${root}/${target.replace(/^\.\//, '')}`;
  }
  return map;
}

/** @type {import('jest').Config} */
const preset = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      swcrc: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023', keepClassNames: true },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    }],
  },
  moduleNameMapper: moduleNameMapper(),
  // Unit tests have no time limit of their own under node:test; property tests (fast-check, 1000
  // cases) take minutes on a loaded 2-core machine. A test that hangs still fails after 5 minutes.
  testTimeout: 300_000,
  // Two workers, as the node:test runner's --test-concurrency=2 before; Jest's default (cores - 1)
  // would run everything in one process on a 2-core machine.
  maxWorkers: 2,
  cacheDirectory: `${root}/.cache/jest`,
  // Build output and tool caches (kind, images, T2 state) are neither tests nor modules to import.
  modulePathIgnorePatterns: [`${root}/.cache/`, `${root}/dist/`, `${root}/.nx/`],
  reporters: ['default', `${root}/tools/jest/count-reporter.mjs`],
};

export default preset;

/** The jest.config.mjs of a project: its unit tests (src/**\/*.test.ts), the `test` target of Nx. */
export function projectConfig(projectDir, testMatch = ['<rootDir>/src/**/*.test.ts']) {
  const name = projectDir.slice(root.length + 1);
  return { ...preset, displayName: name, rootDir: projectDir, testMatch };
}
