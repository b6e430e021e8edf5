// Client bootstrap: which API server, as whom.
//
// Order (DESIGN.md, controller-runtime's): the `--kubeconfig` path the app parsed, else the
// `KUBECONFIG` env var, else in-cluster (service account token + CA + KUBERNETES_SERVICE_HOST/PORT),
// else `$HOME/.kube/config` when it exists, else a KubeConfigError that says what was tried.
// libs/kube reads no environment of its own: apps pass `env` explicitly.
//
// @kubernetes/client-node is loaded here with a dynamic import, on first use only. It is used for
// what it does well and what we should not re-implement: kubeconfig parsing and merging, and every
// auth method (client certificates, bearer tokens, token files that rotate, exec plugins, OIDC), via
// `KubeConfig.applyToHTTPSOptions`. Requests themselves go through node:https with a keep-alive
// agent (see docs/kube.md, "Why raw HTTP"): we control streaming, timeouts and watch decoding, and
// every answer is the server's JSON unchanged.

import { existsSync } from 'node:fs';
import type * as http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { RestKubeClient, type RestKubeClientOptions } from './client.ts';
import { KubeConfigError, KubeTransportError } from './errors.ts';
import { queryString, type HttpRequest, type HttpResponse, type HttpTransport } from './transport.ts';

/** The default mount of the service account token, CA and namespace in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where a client's configuration came from. */
export type KubeConfigSource = 'kubeconfig-flag' | 'in-cluster' | 'kubeconfig-env' | 'kubeconfig-home' | 'explicit';

/** Inputs of createKubeClient; only the fields given are considered. */
export interface KubeClientConfig extends RestKubeClientOptions {
  /** The parsed `--kubeconfig` flag value; wins over everything else. */
  readonly kubeconfig?: string;
  /**
   * The environment to consult (KUBECONFIG, KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT, HOME).
   * Pass `process.env` from main.ts; libs/kube never reads process.env itself. @default {}
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Override of the service account mount (tests). @default SERVICE_ACCOUNT_DIR */
  readonly serviceAccountDir?: string;
  /** Use this kubeconfig context instead of the current one. */
  readonly context?: string;
  /**
   * A server and credentials given directly (tests, TokenRequest tokens); wins over everything.
   * `caData` is PEM text.
   */
  readonly explicit?: { readonly server: string; readonly caData?: string; readonly token?: string; readonly insecureSkipTLSVerify?: boolean };
  /** `User-Agent` header. @default 'portico' */
  readonly userAgent?: string;
}

/** A RestKubeClient plus where its configuration came from. */
export interface LoadedKubeClient extends RestKubeClient {
  readonly source: KubeConfigSource;
  /** The namespace of the kubeconfig context, or of the service account in a pod. */
  readonly namespace: string | undefined;
}

/** Decides which source applies, without loading anything (pure apart from file existence checks). */
export function chooseConfigSource(cfg: KubeClientConfig): { source: KubeConfigSource; paths?: string[] } | { error: string } {
  if (cfg.explicit) return { source: 'explicit' };
  if (cfg.kubeconfig) return { source: 'kubeconfig-flag', paths: [cfg.kubeconfig] };
  const env = cfg.env ?? {};
  const saDir = cfg.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenPath = `${saDir}/token`;
  const list = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '');
  if (list.length > 0) return { source: 'kubeconfig-env', paths: list };
  if (host && port && existsSync(tokenPath)) return { source: 'in-cluster' };
  const home = env['HOME'] ? `${env['HOME'].replace(/\/+$/, '')}/.kube/config` : undefined;
  if (home && existsSync(home)) return { source: 'kubeconfig-home', paths: [home] };
  const inCluster = !host || !port ? 'KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set' : `${tokenPath} does not exist`;
  return {
    error: `no Kubernetes client configuration: --kubeconfig is not set; KUBECONFIG is not set; not in a cluster (${inCluster}); ${home ? `${home} does not exist` : 'HOME is not set'}`,
  };
}

/**
 * Builds a client from the first configuration source that applies (see the file comment).
 * Throws KubeConfigError naming the source when it is unusable (missing file, bad YAML, no
 * current context).
 */
export async function createKubeClient(cfg: KubeClientConfig = {}): Promise<LoadedKubeClient> {
  const choice = chooseConfigSource(cfg);
  if ('error' in choice) throw new KubeConfigError(choice.error);
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  let namespace: string | undefined;
  try {
    switch (choice.source) {
      case 'explicit': {
        const e = cfg.explicit!;
        kc.loadFromClusterAndUser(
          { name: 'explicit', server: e.server, caData: e.caData ? Buffer.from(e.caData).toString('base64') : undefined, skipTLSVerify: e.insecureSkipTLSVerify ?? false },
          { name: 'explicit', token: e.token },
        );
        break;
      }
      case 'in-cluster': {
        const env = cfg.env ?? {};
        const saDir = cfg.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
        const host = env['KUBERNETES_SERVICE_HOST']!;
        const server = `https://${host.includes(':') ? `[${host}]` : host}:${env['KUBERNETES_SERVICE_PORT']}`;
        kc.loadFromClusterAndUser(
          { name: 'in-cluster', server, caFile: `${saDir}/ca.crt`, skipTLSVerify: false },
          // client-node's FileAuth re-reads the token file every minute (projected tokens rotate).
          { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: `${saDir}/token` } } },
        );
        const nsFile = `${saDir}/namespace`;
        if (existsSync(nsFile)) namespace = (await import('node:fs')).readFileSync(nsFile, 'utf8').trim() || undefined;
        break;
      }
      case 'kubeconfig-flag':
      case 'kubeconfig-env':
      case 'kubeconfig-home': {
        const [first, ...rest] = choice.paths!;
        kc.loadFromFile(first!);
        // kubectl's merge rule: the first file that defines a name wins (client-node's
        // mergeConfig throws on duplicates instead).
        for (const p of rest) {
          const more = new k8s.KubeConfig();
          more.loadFromFile(p);
          for (const c of more.getClusters()) if (!kc.getCluster(c.name)) kc.addCluster(c);
          for (const u of more.getUsers()) if (!kc.getUser(u.name)) kc.addUser(u);
          for (const x of more.getContexts()) if (!kc.getContextObject(x.name)) kc.addContext(x);
          if (!kc.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
        }
        if (cfg.context) {
          if (!kc.getContextObject(cfg.context)) throw new Error(`context ${cfg.context} not found`);
          kc.setCurrentContext(cfg.context);
        }
        namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
        break;
      }
    }
  } catch (err) {
    const what = choice.paths ? `${choice.source} ${choice.paths.join(':')}` : choice.source;
    throw new KubeConfigError(`cannot load the Kubernetes client configuration (${what}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`the Kubernetes client configuration (${choice.source}) has no current cluster`);
  const transport = new KubeConfigTransport(kc, cluster.server, !!cluster.proxyUrl, cfg.userAgent ?? 'portico', await import('node:https'), await import('node:http'));
  return new LoadedRestKubeClient(transport, cfg, choice.source, namespace);
}

class LoadedRestKubeClient extends RestKubeClient implements LoadedKubeClient {
  readonly source: KubeConfigSource;
  readonly namespace: string | undefined;
  constructor(transport: HttpTransport, opts: RestKubeClientOptions, source: KubeConfigSource, namespace: string | undefined) {
    super(transport, opts);
    this.source = source;
    this.namespace = namespace;
  }
}

type HttpsModule = typeof import('node:https');
type HttpModule = typeof import('node:http');

/** HttpTransport over node:http(s), with auth and TLS from a client-node KubeConfig. */
class KubeConfigTransport implements HttpTransport {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #useOwnAgent: boolean;
  readonly #userAgent: string;
  readonly #https: HttpsModule;
  readonly #http: HttpModule;
  #agent: http.Agent | undefined;

  constructor(kc: KubeConfig, server: string, proxied: boolean, userAgent: string, httpsMod: HttpsModule, httpMod: HttpModule) {
    this.#kc = kc;
    this.server = server.replace(/\/+$/, '');
    this.#useOwnAgent = !proxied;
    this.#userAgent = userAgent;
    this.#https = httpsMod;
    this.#http = httpMod;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(this.server + req.path + queryString(req.query));
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const opts: import('node:https').RequestOptions = {
      method: req.method,
      // Always an explicit Content-Length: Node does not chunk DELETE bodies by default, and a
      // DELETE with DeleteOptions but no length would leave its body on the keep-alive connection
      // to be read as the next request (found by the T2 apply suite).
      headers: { 'User-Agent': this.#userAgent, ...req.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
    };
    try {
      await this.#kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeConfigError(`cannot apply credentials for ${this.server}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (this.#useOwnAgent) opts.agent = this.#ownAgent(url.protocol, opts);
    const mod = url.protocol === 'http:' ? this.#http : this.#https;
    return new Promise<HttpResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(req.signal.reason);
        return;
      }
      const r = mod.request(url, opts, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      const onAbort = (): void => {
        r.destroy(req.signal?.reason instanceof Error ? req.signal.reason : new Error('aborted'));
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('close', () => req.signal?.removeEventListener('abort', onAbort));
      r.on('error', (err) => reject(req.signal?.aborted ? req.signal.reason : new KubeTransportError(`${req.method} ${url.pathname}: ${err.message}`, { cause: err })));
      r.end(body);
    });
  }

  /** One keep-alive agent per transport, carrying the TLS material applyToHTTPSOptions put on `opts`. */
  #ownAgent(protocol: string, opts: import('node:https').RequestOptions): http.Agent {
    if (this.#agent) return this.#agent;
    const common = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64 };
    this.#agent =
      protocol === 'http:'
        ? new this.#http.Agent(common)
        : new this.#https.Agent({
            ...common,
            ca: opts.ca,
            cert: opts.cert,
            key: opts.key,
            pfx: opts.pfx,
            passphrase: opts.passphrase,
            servername: opts.servername,
            ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
          });
    return this.#agent;
  }

  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}
