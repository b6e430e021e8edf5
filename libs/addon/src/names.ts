// Naming: Addon names from file paths, wrangler's set hash, the ApplySet ID, GVK strings.

import { createHash } from 'node:crypto';
import { AddonApi, Wrangler } from './constants.ts';

/** How Addon names are derived from file paths. */
export type NamingRule = 'k3s' | 'path';

/** A group/version/kind. `group` is `''` for the core group. */
export interface GVK {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The last path element. */
export function baseName(relPath: string): string {
  const i = relPath.lastIndexOf('/');
  return i < 0 ? relPath : relPath.slice(i + 1);
}

/**
 * K3s's rule: the file's base name up to its first `.` (`traefik.yaml` → `traefik`,
 * `coredns.override.yaml` → `coredns`, `a/x.yaml` → `x`; spec §3.3, B5).
 */
export function k3sAddonName(relPath: string): string {
  const base = baseName(relPath);
  const dot = base.indexOf('.');
  return dot < 0 ? base : base.slice(0, dot);
}

const MAX_NAME = 253;

/**
 * Portico's path rule (spec B5): the relative path without its last extension, lower-cased,
 * `/` → `.`, other characters outside `[a-z0-9.-]` → `-`; names over 253 characters are cut and
 * get an 8-hex hash of the full path.
 */
export function pathAddonName(relPath: string): string {
  const dot = relPath.lastIndexOf('.');
  const slash = relPath.lastIndexOf('/');
  const stem = dot > slash + 1 ? relPath.slice(0, dot) : relPath;
  let name = stem
    .toLowerCase()
    .replaceAll('/', '.')
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (name === '') name = 'addon';
  if (name.length > MAX_NAME) {
    const h = createHash('sha256').update(relPath, 'utf8').digest('hex').slice(0, 8);
    name = `${name.slice(0, MAX_NAME - 9).replace(/[^a-z0-9]+$/, '')}-${h}`;
  }
  return name;
}

export function addonName(relPath: string, rule: NamingRule): string {
  return rule === 'k3s' ? k3sAddonName(relPath) : pathAddonName(relPath);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `name` can be an object name (DNS-1123 subdomain). */
export function isValidObjectName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME && DNS_SUBDOMAIN.test(name);
}

/**
 * wrangler's `objectset.rio.cattle.io/hash` for an object set owned by Addon `kube-system/<name>`
 * with an empty set ID: hex SHA-1 of id, owner GVK, owner name and owner namespace, concatenated.
 */
export function wranglerSetHash(addon: string, namespace: string = AddonApi.namespace): string {
  return createHash('sha1').update(`${''}${Wrangler.addonOwnerGvk}${addon}${namespace}`, 'utf8').digest('hex');
}

/**
 * The ApplySet ID of a parent (KEP-3659): `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`.
 */
export function applySetId(addon: string, namespace: string = AddonApi.namespace): string {
  const digest = createHash('sha256').update(`${addon}.${namespace}.${AddonApi.kind}.${AddonApi.group}`, 'utf8').digest('base64url');
  return `applyset-${digest}-v1`;
}

/** apiVersion → group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function gvkOf(apiVersion: string, kind: string): GVK {
  return { ...splitApiVersion(apiVersion), kind };
}

export function apiVersionOfGvk(g: GVK): string {
  return g.group === '' ? g.version : `${g.group}/${g.version}`;
}

/** Go's `schema.GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Service`. */
export function gvkString(g: GVK): string {
  return `${g.group}/${g.version}, Kind=${g.kind}`;
}

/** Parses `gvkString` output; undefined when malformed. */
export function parseGvkString(s: string): GVK | undefined {
  const m = /^([^/,\s]*)\/([^/,\s]+), Kind=(\S+)$/.exec(s.trim());
  return m ? { group: m[1]!, version: m[2]!, kind: m[3]! } : undefined;
}

/** The `addon.k3s.cattle.io/gvks` value: GVK strings joined by `;`, in the given order, duplicates removed. */
export function formatGvksAnnotation(gvks: readonly GVK[]): string {
  return [...new Set(gvks.map(gvkString))].join(';');
}

/** Reads `addon.k3s.cattle.io/gvks`; malformed entries are returned separately. */
export function parseGvksAnnotation(value: string | undefined): { gvks: GVK[]; bad: string[] } {
  const gvks: GVK[] = [];
  const bad: string[] = [];
  for (const part of (value ?? '').split(';')) {
    if (part.trim() === '') continue;
    const g = parseGvkString(part);
    if (g) gvks.push(g);
    else bad.push(part);
  }
  return { gvks, bad };
}

/** ApplySet's group-kind form: `Kind.group`, or `Kind` for the core group. */
export function groupKindString(g: Pick<GVK, 'group' | 'kind'>): string {
  return g.group === '' ? g.kind : `${g.kind}.${g.group}`;
}

/** Hex SHA-256 of the bytes (`Addon.spec.checksum`). */
export function checksum(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
