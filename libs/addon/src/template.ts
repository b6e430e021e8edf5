// Placeholders of packaged manifests (`%{VAR}%`, spec §2.2, §3.1) and staging decisions.

import { disabledBy } from './scan.ts';

/** Settings that fill the placeholders. */
export interface TemplateSettings {
  /** Cluster DNS Service IPs (one per family), first one is `%{CLUSTER_DNS}%`. */
  readonly clusterDns: readonly string[];
  readonly clusterDomain: string;
  /** Registry host (`reg.io`, `reg.io:5000/mirror`); empty = none. */
  readonly systemDefaultRegistry: string;
  readonly defaultLocalStoragePath: string;
  /** Node address types for metrics-server, in order. */
  readonly preferredAddressTypes: readonly string[];
  /** Portico: chart repository of the Traefik HelmCharts (K3s serves them from /static/). */
  readonly traefikChartRepo: string;
}

/** Placeholder left for the Helm Job to fill (spec §4.3). */
export const KUBERNETES_API_PLACEHOLDER = '%{KUBERNETES_API}%';

/** K3s's values (`--cluster-dns 10.43.0.10`, `cluster.local`, `/var/lib/rancher/k3s/storage`). */
export const K3S_TEMPLATE_DEFAULTS: TemplateSettings = Object.freeze({
  clusterDns: Object.freeze(['10.43.0.10']),
  clusterDomain: 'cluster.local',
  systemDefaultRegistry: '',
  defaultLocalStoragePath: '/var/lib/rancher/k3s/storage',
  preferredAddressTypes: Object.freeze(['InternalIP', 'ExternalIP', 'Hostname']),
  traefikChartRepo: 'https://traefik.github.io/charts',
});

/** Placeholder name → value. */
export function placeholderValues(s: TemplateSettings): Record<string, string> {
  const registry = s.systemDefaultRegistry.replace(/\/+$/, '');
  return {
    CLUSTER_DNS: s.clusterDns[0] ?? '',
    CLUSTER_DNS_LIST: `[${s.clusterDns.join(',')}]`,
    CLUSTER_DNS_IPFAMILYPOLICY: s.clusterDns.length > 1 ? 'RequireDualStack' : 'SingleStack',
    CLUSTER_DOMAIN: s.clusterDomain,
    DEFAULT_LOCAL_STORAGE_PATH: s.defaultLocalStoragePath,
    SYSTEM_DEFAULT_REGISTRY: registry === '' ? '' : `${registry}/`,
    SYSTEM_DEFAULT_REGISTRY_RAW: registry,
    PREFERRED_ADDRESS_TYPES: s.preferredAddressTypes.join(','),
    TRAEFIK_CHART_REPO: s.traefikChartRepo,
  };
}

const PLACEHOLDER = /%\{([A-Z0-9_]+)\}%/g;

/**
 * Replaces every known placeholder; `%{KUBERNETES_API}%` stays. Unknown placeholders stay too and
 * are reported, so a template typo fails the staging instead of reaching the cluster.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): { text: string; unknown: string[] } {
  const unknown = new Set<string>();
  const out = text.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'KUBERNETES_API') return whole;
    const v = values[name];
    if (v === undefined) {
      unknown.add(name);
      return whole;
    }
    return v;
  });
  return { text: out, unknown: [...unknown].sort() };
}

/** Problems with template settings, one per field (for exit-2 reporting by the shell). */
export function templateSettingsProblems(s: TemplateSettings): { field: keyof TemplateSettings; value: string; reason: string }[] {
  const problems: { field: keyof TemplateSettings; value: string; reason: string }[] = [];
  if (s.clusterDns.length < 1 || s.clusterDns.length > 2) problems.push({ field: 'clusterDns', value: s.clusterDns.join(','), reason: 'must list one IP, or two of different families' });
  for (const ip of s.clusterDns) {
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(ip) && !/^[0-9a-fA-F:]+$/.test(ip)) problems.push({ field: 'clusterDns', value: ip, reason: 'is not an IP address' });
  }
  if (s.clusterDns.length === 2 && s.clusterDns[0]!.includes(':') === s.clusterDns[1]!.includes(':')) {
    problems.push({ field: 'clusterDns', value: s.clusterDns.join(','), reason: 'two IPs must be of different families' });
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s.clusterDomain)) problems.push({ field: 'clusterDomain', value: s.clusterDomain, reason: 'must be a DNS domain' });
  if (!s.defaultLocalStoragePath.startsWith('/')) problems.push({ field: 'defaultLocalStoragePath', value: s.defaultLocalStoragePath, reason: 'must be an absolute path' });
  if (/\s/.test(s.systemDefaultRegistry)) problems.push({ field: 'systemDefaultRegistry', value: s.systemDefaultRegistry, reason: 'must not contain spaces' });
  for (const t of s.preferredAddressTypes) {
    if (!['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'].includes(t)) problems.push({ field: 'preferredAddressTypes', value: t, reason: 'must be InternalIP, ExternalIP, Hostname, InternalDNS or ExternalDNS' });
  }
  return problems;
}

/** One packaged template: its path under the manifests directory and its text. */
export interface PackagedTemplate {
  readonly relPath: string;
  readonly text: string;
}

export interface StagedFile {
  readonly relPath: string;
  readonly text: string;
}

/**
 * What to write at start (spec §3.1): every template not disabled (by its path, its path without
 * extension, or a leading directory), rendered. Throws when a template names an unknown
 * placeholder (a packaging bug).
 */
export function stagePlan(templates: readonly PackagedTemplate[], settings: TemplateSettings, disables: ReadonlySet<string>): { write: StagedFile[]; skipped: string[] } {
  const values = placeholderValues(settings);
  const write: StagedFile[] = [];
  const skipped: string[] = [];
  for (const t of [...templates].sort((a, b) => (a.relPath < b.relPath ? -1 : 1))) {
    if (disables.has(t.relPath) || disabledBy(t.relPath, disables) !== undefined) {
      skipped.push(t.relPath);
      continue;
    }
    const r = renderTemplate(t.text, values);
    if (r.unknown.length > 0) throw new Error(`packaged template ${t.relPath} uses unknown placeholders: ${r.unknown.join(', ')}`);
    write.push({ relPath: t.relPath, text: r.text });
  }
  return { write, skipped };
}
