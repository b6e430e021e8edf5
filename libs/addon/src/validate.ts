// Validation of addon-manager's custom resources (k3s.cattle.io/v1 Addon, helm.cattle.io/v1
// HelmChart and HelmChartConfig) as the API server validates them: metadata, then the CRD's
// structural schema (the same schemas as apps/addon-manager/crds/*.yaml; a test keeps them equal).
// Nothing here throws, whatever the input. An invalid object is never acted on: `render` exits 2
// naming object, field and value; the controllers record a Warning Event and a log line and leave
// what exists (the last Job of a HelmChart, the objects of an Addon) as it is.

import { isObj, metadata, objectName, problem, schemaProblems, type FieldProblem, type Problems, type StructuralSchema } from '@portico/validation';
import { AddonApi } from './constants.ts';
import { Helm } from './helm.ts';

const str: StructuralSchema = { type: 'string' };
const bool: StructuralSchema = { type: 'boolean' };
const nameRef: StructuralSchema = { type: 'object', properties: { name: str } };
const anything: StructuralSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const valuesSecrets: StructuralSchema = { type: 'array', items: { type: 'object', properties: { name: str, keys: { type: 'array', items: str }, ignoreUpdates: bool } } };
const failurePolicy: StructuralSchema = { type: 'string', enum: ['abort', 'reinstall', 'retry'] };
const serverSide: StructuralSchema = { type: 'string', enum: ['true', 'false', 'auto'] };
const dateTime: StructuralSchema = { type: 'string', format: 'date-time' };

/** `spec` and `status` of each kind, as in the CRDs (`openAPIV3Schema.properties`). */
export const CRD_SCHEMAS: Readonly<Record<'Addon' | 'HelmChart' | 'HelmChartConfig', StructuralSchema>> = Object.freeze({
  Addon: {
    type: 'object',
    properties: {
      spec: { type: 'object', properties: { source: str, checksum: str } },
      status: {
        type: 'object',
        properties: {
          observedChecksum: str,
          conditions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['type', 'status'],
              properties: { type: str, status: str, reason: str, message: str, lastTransitionTime: dateTime, observedGeneration: { type: 'integer', format: 'int64' } },
            },
          },
        },
      },
    },
  },
  HelmChart: {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          targetNamespace: str,
          createNamespace: bool,
          chart: str,
          version: str,
          repo: str,
          repoCA: str,
          repoCAConfigMap: nameRef,
          set: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
          values: anything,
          valuesContent: str,
          valuesSecrets,
          helmVersion: str,
          bootstrap: bool,
          takeOwnership: bool,
          serverSide,
          forceConflicts: bool,
          chartContent: str,
          jobImage: str,
          backOffLimit: { type: 'integer', format: 'int32' },
          timeout: str,
          failurePolicy,
          authSecret: nameRef,
          authPassCredentials: bool,
          insecureSkipTLSVerify: bool,
          plainHTTP: bool,
          dockerRegistrySecret: nameRef,
          podSecurityContext: anything,
          securityContext: anything,
          driver: { type: 'string', enum: ['secret', 'configmap'] },
        },
      },
      status: {
        type: 'object',
        properties: {
          jobName: str,
          observedGeneration: { type: 'integer', format: 'int64' },
          conditions: { type: 'array', items: { type: 'object', properties: { type: str, status: str, reason: str, message: str, lastTransitionTime: dateTime } } },
        },
      },
    },
  },
  HelmChartConfig: {
    type: 'object',
    properties: {
      spec: { type: 'object', properties: { values: anything, valuesContent: str, valuesSecrets, failurePolicy, serverSide, forceConflicts: bool } },
    },
  },
});

/** The kind of addon-manager's custom resources `obj` is (by apiVersion and kind), if it is one. */
export function crdKindOf(obj: unknown): keyof typeof CRD_SCHEMAS | undefined {
  if (!isObj(obj)) return undefined;
  const { apiVersion, kind } = obj;
  if (apiVersion === AddonApi.apiVersion && kind === AddonApi.kind) return 'Addon';
  if (apiVersion === Helm.apiVersion && kind === Helm.chartKind) return 'HelmChart';
  if (apiVersion === Helm.apiVersion && kind === Helm.configKind) return 'HelmChartConfig';
  return undefined;
}

/** What the API server would reject in an Addon, HelmChart or HelmChartConfig (by `kind`). */
export function validateCustomResource(kind: keyof typeof CRD_SCHEMAS, obj: unknown): FieldProblem[] {
  const out: Problems = [];
  if (!isObj(obj)) {
    problem(out, '', obj, `a ${kind} must be a map`);
    return out;
  }
  metadata(out, obj['metadata'], 'subdomain');
  schemaProblems(out, { spec: obj['spec'], status: obj['status'] }, CRD_SCHEMAS[kind], '');
  return out;
}

/** One line per problem of every Addon, HelmChart and HelmChartConfig among `objects` (`HelmChart ns/name: spec.set.x: "...": ...`). */
export function customResourceProblems(objects: readonly unknown[]): string[] {
  const lines: string[] = [];
  for (const o of objects) {
    const kind = crdKindOf(o);
    if (!kind) continue;
    const { namespace, name } = objectName(o);
    for (const p of validateCustomResource(kind, o)) lines.push(`${kind} ${namespace !== undefined ? `${namespace}/` : ''}${name}: ${p.field === '' ? '' : `${p.field}: `}${JSON.stringify(p.value)}: ${p.message}`);
  }
  return lines;
}
