// Lint: TypeScript rules plus Nx module boundaries (STYLE rule 14).
//  - type:app may import core, adapter and testing libs; never another app.
//  - type:adapter may import core and adapter libs; type:core only core libs; libs never import apps.
//  - Only libs/kube imports @kubernetes/client-node.
//  - Production code (apps/*/src, libs/*/src, not tests, benches or testing/ folders) may not import a
//    testing entry point (@portico/<lib>/testing, @portico/testing) or a testing/ folder.
//  - Pure cores (type:core) may not do I/O nor read the clock, randomness or the environment.
//  - libs/iptables is the one kernel layer: its main entry point is pure (type:core, so cores may import
//    it); its I/O half is the entry point @portico/iptables/adapter (src/adapter/), which cores may not
//    import and which is the only place in libs/iptables allowed to do I/O.
//  - libs/runner (Clock, BoundedRunner) is a core the same way: the process clock is its entry point
//    @portico/runner/adapter (src/adapter/), the only place in libs/runner that reads Date.now.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const coreLibs = ['libs/labels', 'libs/ip-selection', 'libs/servicelb', 'libs/netpol', 'libs/addon', 'libs/iptables', 'libs/validation', 'libs/runner'];
/** Imports a pure core may not make: the I/O half of a lib (the kernel layer's, the process clock). */
const adapterOnly = [{ group: ['@portico/*/adapter', '**/adapter/**', './adapter', './adapter/*'], message: 'The I/O half of a lib (@portico/iptables/adapter, @portico/runner/adapter) is for apps and adapters; cores use the main entry point (docs/iptables.md, docs/development.md).' }];
/**
 * Test doubles, builders and generators live in `testing/` folders (a lib serves them as
 * `@portico/<lib>/testing`; libs/testing is all test support). Production code never imports them.
 */
const testingOnly = [{ group: ['@portico/*/testing', '@portico/testing', '**/testing/**', '**/testing'], message: 'Test doubles and builders are for tests: production code may not import a testing entry point or a testing/ folder (docs/development.md).' }];
/** Production sources: what ends up in a binary (not tests, benches, testing/ folders, libs/testing). */
const productionFiles = ['apps/*/src/**/*.ts', 'libs/*/src/**/*.ts'];
const notProduction = ['**/*.test.ts', '**/*.bench.ts', '**/testing/**', 'libs/testing/**'];
const clientNodeBan = { name: '@kubernetes/client-node', message: 'Only libs/kube talks to Kubernetes (DESIGN.md).' };
const ioModules = ['node:child_process', 'child_process', 'node:fs', 'fs', 'node:fs/promises', 'node:net', 'net', 'node:http', 'node:https', 'pino', 'fastify', 'prom-client', '@kubernetes/client-node'];

const spreadBans = [
  { selector: 'CallExpression[callee.property.name=/^(push|unshift|splice|concat)$/] > SpreadElement', message: 'No argument spread of arrays (stack overflow on large inputs): use pushAll or a loop.' },
  { selector: "CallExpression[callee.object.name='Math'] > SpreadElement", message: 'No argument spread into Math.* (stack overflow on large inputs): use a loop.' },
  { selector: "CallExpression[callee.property.name=/^(fromCharCode|fromCodePoint|apply)$/] > SpreadElement", message: 'No argument spread of arrays (stack overflow on large inputs).' },
];
const kernelText = 'iptables/ipset text and parsers live in libs/iptables (render through its model, read through its parsers).';
const kernelTextBans = [
  { selector: 'Literal[value=/^(\\*(filter|nat|mangle|raw|security)|COMMIT)$/]', message: kernelText },
  { selector: 'Literal[value=/^(-[AIDFXN]|--append|--insert|--delete) [A-Z]/]', message: kernelText },
  { selector: 'TemplateElement[value.raw=/^(-[AIDFXN]|--append|--insert|--delete) ?$/]', message: kernelText },
  { selector: 'TemplateElement[value.raw=/^(-[AIDFXN]|--append|--insert|--delete) /]', message: kernelText },
  { selector: 'Literal[value=/^(create|add|del|swap|destroy|flush) \\S+ ((hash|list|bitmap):|\\d)/]', message: kernelText },
  { selector: 'TemplateElement[value.raw=/^(create|add|del|swap|destroy|flush) $/]', message: kernelText },
  { selector: 'Literal[regex.pattern=/-A |COMMIT|--match-set|\\^:|\\^create|\\^add /]', message: kernelText },
];

/** K3s and kube-router names are constants in libs/labels (STYLE rule 13); nowhere else spells them. */
const compatNames = 'K3s/kube-router names live in libs/labels (STYLE rule 13): import the constant.';
const compatNameBans = [
  { selector: 'Literal[value=/^([a-z0-9-]+\\.)*(cattle\\.io|kube-router\\.io|k3s\\.io|rke2\\.io)\\/[A-Za-z0-9._-]*$/]', message: compatNames },
  { selector: 'Literal[value=/^KUBE-(ROUTER|NWPLCY|POD-FW|SRC|DST)/]', message: compatNames },
  { selector: 'Literal[value=/^kube[-_]router([-_ ]|$)/]', message: compatNames },
];
/**
 * Apps wire libs; they do not define parsers of what a lib already reads: IP addresses and CIDRs
 * (libs/ip-selection), kernel output (libs/iptables), manifests and snapshots (libs/addon, libs/kube).
 * Flag and environment parsing (`runConfigFrom`, `parseForwarderEnv`) is the app's own and allowed.
 */
const parserMessage = 'Apps do not define parsers of IPs/CIDRs, kernel output, manifests or snapshots: use libs/ip-selection, libs/iptables, libs/addon or libs/kube.';
const parserName = '/^(parse|canonical)(IP|Ip|CIDR|Cidr|Prefix|Address|Save|Ipset|Iptables|Observed|Rule|Manifest|Snapshot|Yaml)/';
const appParserBans = [
  { selector: `FunctionDeclaration[id.name=${parserName}]`, message: parserMessage },
  { selector: `VariableDeclarator[id.name=${parserName}]`, message: parserMessage },
  { selector: "ImportDeclaration[source.value='node:net'] > ImportSpecifier[imported.name=/^isIP/]", message: parserMessage },
];

export default [
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', '.nx/**', '**/testdata/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // Apps import libs/kube lazily in places so that `render` never loads client-node; a lib
          // imported both ways is intended.
          checkDynamicDependenciesExceptions: ['.*'],
          banTransitiveDependencies: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:testing'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:testing'] },
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:core', 'type:adapter'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': ['error', { paths: [clientNodeBan] }],
    },
  },
  {
    files: productionFiles,
    ignores: notProduction,
    rules: { 'no-restricted-imports': ['error', { paths: [clientNodeBan], patterns: testingOnly }] },
  },
  {
    files: ['libs/kube/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['libs/kube/src/**/*.ts'],
    ignores: notProduction,
    rules: { 'no-restricted-imports': ['error', { patterns: testingOnly }] },
  },
  {
    // Compatibility names only in libs/labels.
    files: productionFiles,
    ignores: [...notProduction, 'libs/labels/**'],
    rules: { 'no-restricted-syntax': ['error', ...compatNameBans] },
  },
  {
    files: coreLibs.map((d) => `${d}/src/**/*.ts`),
    ignores: ['**/*.test.ts', 'libs/iptables/src/adapter/**', 'libs/runner/src/adapter/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules.map((name) => ({ name, message: 'Pure cores do no I/O (STYLE rule 1).' })), patterns: adapterOnly }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Renderers take time as input (STYLE rule 2).' },
        { object: 'Math', property: 'random', message: 'Renderers are deterministic (STYLE rule 2).' },
        { object: 'process', property: 'env', message: 'Config is parsed once in the shell (STYLE rule 10).' },
      ],
    },
  },
  {
    // The same for core production sources, which also may not import test support.
    files: coreLibs.map((d) => `${d}/src/**/*.ts`),
    ignores: ['libs/iptables/src/adapter/**', 'libs/runner/src/adapter/**', ...notProduction],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules.map((name) => ({ name, message: 'Pure cores do no I/O (STYLE rule 1).' })), patterns: [...adapterOnly, ...testingOnly] }],
    },
  },
  {
    // Input-sized arrays never go through an argument list: `a.push(...b)` or `Math.max(...b)` throw
    // RangeError past ~100,000 elements (issue 15). Use pushAll (@portico/iptables) or a loop.
    files: ['libs/netpol/src/**/*.ts', 'libs/iptables/src/**/*.ts'],
    ignores: notProduction,
    rules: { 'no-restricted-syntax': ['error', ...spreadBans, ...compatNameBans] },
  },
  {
    // Apps wire the kernel layer; they do not write iptables/ipset text or parse the tools' output
    // (libs/iptables is the one place for model, text, parsers and the planner: docs/iptables.md).
    files: ['apps/*/src/**/*.ts'],
    ignores: [...notProduction, 'apps/netpol-agent/src/**', 'apps/lb-forwarder/src/**'],
    rules: { 'no-restricted-syntax': ['error', ...kernelTextBans, ...compatNameBans, ...appParserBans] },
  },
  {
    files: ['apps/netpol-agent/src/**/*.ts', 'apps/lb-forwarder/src/**/*.ts'],
    ignores: notProduction,
    rules: { 'no-restricted-syntax': ['error', ...spreadBans, ...kernelTextBans, ...compatNameBans, ...appParserBans] },
  },
];
