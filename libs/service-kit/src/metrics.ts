import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

export { Registry, Counter, Gauge, Histogram };

/** Every metric Portico defines starts with this prefix (DESIGN.md, observability). */
export const METRIC_PREFIX = 'portico_';

/**
 * A registry with the Node process metrics (prefixed `portico_`) and `portico_build_info`.
 * Apps register their own metrics on it; names must carry the prefix unless they reproduce an
 * upstream name on purpose (kube-router's netpol metrics), which callers say with `upstreamName`.
 */
export function createRegistry(app: string, version: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const info = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Portico component and version; always 1',
    labelNames: ['component', 'version'],
    registers: [registry],
  });
  info.labels(app, version).set(1);
  return registry;
}

/** Returns `name` after checking it carries the Portico prefix; throws otherwise (a bug). */
export function metricName(name: string): string {
  if (!name.startsWith(METRIC_PREFIX)) throw new Error(`bug: metric ${name} lacks the ${METRIC_PREFIX} prefix`);
  return name;
}

/** Counts each API write of `call` with `count(verb, resource, ok)`; `okOnError` says which failures still count as ok (e.g. 404 on delete). */
export async function countedWrite<T>(count: (verb: string, resource: string, ok: boolean) => void, verb: string, resource: string, call: () => Promise<T>, okOnError: (err: unknown) => boolean = () => false): Promise<T> {
  try {
    const out = await call();
    count(verb, resource, true);
    return out;
  } catch (err) {
    count(verb, resource, okOnError(err));
    throw err;
  }
}
