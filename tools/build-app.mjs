// Bundles apps/<app>/src/main.ts into dist/apps/<app>/main.js: one ESM file with every dependency
// inside, so an image needs only `node` and this file.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const app = process.argv[2];
if (!app || !/^[a-z0-9-]+$/.test(app)) {
  console.error('usage: node tools/build-app.mjs <app>');
  process.exit(2);
}
const outdir = `dist/apps/${app}`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`apps/${app}/src/main.ts`],
  outfile: `${outdir}/main.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  tsconfig: 'tsconfig.base.json',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies bundled into an ES module still call require() and use __dirname.
  banner: {
    js: [
      "import { createRequire as __portico_createRequire } from 'node:module';",
      "import { fileURLToPath as __portico_fileURLToPath } from 'node:url';",
      "import { dirname as __portico_dirname } from 'node:path';",
      'const require = __portico_createRequire(import.meta.url);',
      'const __filename = __portico_fileURLToPath(import.meta.url);',
      'const __dirname = __portico_dirname(__filename);',
    ].join('\n'),
  },
});
