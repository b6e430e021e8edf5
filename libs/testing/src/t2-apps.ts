// T2 helpers for suites that run a Portico app's bundled binary with its own rbac.yaml: the built
// binary, the RBAC objects, fast leader-election flags and `kubectl auth can-i` as the app's
// ServiceAccount. The process, polling and token helpers are in t2.ts.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@portico/kube';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const exec = promisify(execFile);

const built = new Map<string, Promise<string>>();
/** Builds apps/<app> once per process (tools/build-app.mjs); resolves to dist/apps/<app>/main.js. */
export function buildApp(app: string): Promise<string> {
  let p = built.get(app);
  if (!p) {
    p = exec(process.execPath, ['tools/build-app.mjs', app], { cwd: REPO }).then(() => join(REPO, `dist/apps/${app}/main.js`));
    built.set(app, p);
  }
  return p;
}

/** The objects of an app's RBAC file (e.g. `apps/ccm/rbac.yaml`), as plain JSON. */
export function loadRbac(relativePath: string): (KubeObject & Record<string, unknown>)[] {
  return parseAllDocuments(readFileSync(join(REPO, relativePath), 'utf8')).map((d) => d.toJS() as KubeObject & Record<string, unknown>);
}

/** Leader-election flags for T2 runs: a 3 s Lease, 2 s renew deadline, 0.5 s retry period (fast failovers). */
export const FAST_LEADER_ARGS: readonly string[] = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms'];

/** kubectl of the T2 tool build (.cache/bin/kubectl, put there by e2e/t2/up). */
export const KUBECTL = join(REPO, '.cache/bin/kubectl');

/** `kubectl auth can-i` as the identity of `kubeconfig`: true for "yes", false for "no"; throws on anything else. */
export async function canI(kubeconfig: string, ...args: string[]): Promise<boolean> {
  const answer = await exec(KUBECTL, ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args]).then(
    (o) => o.stdout.trim(),
    (err: { stdout?: string; stderr?: string; code?: number }) => {
      if (err.code === 1 && err.stdout?.trim() === 'no') return 'no';
      throw new Error(`kubectl auth can-i ${args.join(' ')} failed: ${err.stderr ?? String(err)}`);
    },
  );
  return answer === 'yes';
}
