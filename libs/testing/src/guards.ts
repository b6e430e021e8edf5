import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a Node module hook to `dir` that fails the process if anything resolves
 * `@kubernetes/client-node`, and returns its path (use as `node --import <path> ...`). Proves that a
 * `render` command never loads the Kubernetes client (DESIGN.md: render has no cluster access).
 */
export function writeClientNodeGuard(dir: string): string {
  const path = join(dir, 'client-node-guard.mjs');
  writeFileSync(
    path,
    [
      "import { registerHooks } from 'node:module';",
      'registerHooks({ resolve(specifier, context, next) {',
      "  if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) throw new Error('render loaded @kubernetes/client-node');",
      '  return next(specifier, context);',
      '} });',
    ].join('\n'),
  );
  return path;
}
