// Runs the helm binary the project builds (tools/k8s/build-tools helm -> .cache/bin/helm) on the chart.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, REPO } from './chart-files.ts';

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The helm binary; throws (naming the fix) when it has not been built. */
export function helmBin(): string {
  const bin = join(REPO, '.cache', 'bin', 'helm');
  if (!existsSync(bin)) throw new Error(`prerequisite missing: ${bin} (run: bash tools/k8s/build-tools helm)`);
  return bin;
}

export function helm(args: readonly string[], env: NodeJS.ProcessEnv = process.env): HelmResult {
  const r = spawnSync(helmBin(), args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export interface TemplateOptions {
  /** Values files (paths relative to the repository). */
  readonly values?: readonly string[];
  /** --set-string / --set pairs. */
  readonly set?: readonly string[];
  readonly namespace?: string;
  readonly release?: string;
}

/** `helm template` of the chart, as a fixed release (name portico, namespace kube-system by default). */
export function helmTemplate(o: TemplateOptions = {}): HelmResult {
  const args = ['template', o.release ?? 'portico', CHART_DIR, '--namespace', o.namespace ?? 'kube-system', '--include-crds'];
  for (const v of o.values ?? []) args.push('--values', join(REPO, v));
  for (const s of o.set ?? []) args.push('--set', s);
  return helm(args);
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Parses a multi-document YAML stream into objects (empty documents dropped). */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}
