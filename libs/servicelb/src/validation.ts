// Kubernetes name and label syntax checks (apimachinery validation, from @portico/validation), used
// to reject bad annotation values up front with a clear Event instead of a server-side apply failure.

import { isDnsLabel, isDnsSubdomain, labelValueProblem, qualifiedNameProblem } from '@portico/validation';

export { isDnsLabel, isDnsSubdomain };

/** A label key / taint key: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
export function isQualifiedName(value: string): boolean {
  return qualifiedNameProblem(value) === undefined;
}

/** A label value: empty, or at most 63 characters of alphanumerics, '-', '_', '.', alphanumeric at both ends. */
export function isLabelValue(value: string): boolean {
  return labelValueProblem(value) === undefined;
}
