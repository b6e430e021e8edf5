import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { splitListenAddr } from './flags.ts';

/** Readiness as the app sees it; `reason` is returned to the prober when not ready. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface HealthServerOptions {
  readonly registry: Registry;
  /** Called on every /readyz. */
  readonly readiness: () => Readiness;
  /** Called on every /healthz; a thrown error or false means unhealthy. @default always healthy */
  readonly liveness?: () => boolean;
  readonly log?: Logger;
}

/**
 * Builds (does not start) the HTTP server with `/healthz`, `/readyz` and `/metrics`. Tests call
 * `inject()`; main.ts calls `listen()`.
 */
export function buildHealthServer(opts: HealthServerOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_req, reply) => {
    let ok = false;
    try {
      ok = opts.liveness ? opts.liveness() : true;
    } catch (err) {
      opts.log?.warn({ err, event: 'livenessCheckFailed' }, 'liveness check threw');
    }
    return reply.code(ok ? 200 : 500).type('text/plain').send(ok ? 'ok\n' : 'unhealthy\n');
  });
  app.get('/readyz', async (_req, reply) => {
    const r = opts.readiness();
    return reply.code(r.ready ? 200 : 503).type('text/plain').send(r.ready ? 'ok\n' : `not ready: ${r.reason}\n`);
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });
  return app;
}

/**
 * Starts `server` on `metricsAddr` (`host:port`, `:port`, `[v6]:port`), or does nothing when it is
 * `0` (disabled), and logs where it listens. Every app calls it from its `start()`.
 */
export async function listenOn(server: FastifyInstance, metricsAddr: string, log: Logger): Promise<void> {
  const addr = splitListenAddr(metricsAddr);
  if (!addr) return;
  await server.listen({ host: addr.host, port: addr.port });
  log.info({ event: 'listening', addr: metricsAddr }, 'serving /healthz, /readyz and /metrics');
}
