import { ServiceLB } from '@portico/labels';

/**
 * The DaemonSet name of a Service: `svclb-<name>-<first 8 characters of the UID>` (K3s
 * `generateName`). A Service name longer than 48 characters is cut to 48, then trailing '-' are
 * stripped, so the result is at most 63 characters and never has '--' before the UID part.
 *
 * Vectors (UID 35a5ccb3-…): `a-service` → `svclb-a-service-35a5ccb3`;
 * `a-service-with-a-very-veeeeeery-long-yet-valid-name` → `svclb-a-service-with-a-very-veeeeeery-long-yet-valid-n-35a5ccb3`.
 */
export function daemonSetName(serviceName: string, uid: string): string {
  let name = serviceName;
  if (name.length > ServiceLB.maxNameLength) {
    let end = ServiceLB.maxNameLength;
    while (end > 0 && name[end - 1] === '-') end--;
    name = name.slice(0, end);
  }
  return `${ServiceLB.daemonSetPrefix}${name}-${uid.slice(0, 8)}`;
}
