import { createKubeClient } from '@portico/kube';
import { createLogger, handleShutdown, runProgram, splitListenAddr } from '@portico/service-kit';
import { createApp } from './app.ts';
import { createProgram } from './cli.ts';
import { nodeRunner } from '@portico/iptables/adapter';
import { Kernel, resolveTools } from '@portico/iptables/adapter';
import { ShellRunner } from '@portico/iptables/adapter';

// Wiring only (STYLE rule 9): parse, build, start, wait for a signal.
const VERSION = process.env['PORTICO_VERSION'] ?? '0.1.0';

const program = createProgram({
  version: VERSION,
  startAgent: async (_ctx, config) => {
    const log = createLogger({ app: 'netpol-agent', level: config.logLevel });
    const runner = nodeRunner();
    // Restores go through one shell started now, while the process is small (ShellRunner, @portico/iptables/adapter).
    const writer = new ShellRunner({ fallback: runner });
    writer.start();
    const tools = await resolveTools(runner, config.iptablesBackend);
    log.info({ event: 'iptablesBackend', backend: tools.backend, reason: tools.reason }, 'iptables backend chosen');
    const kernel = new Kernel(runner, tools, { writer });
    const client = await createKubeClient({ kubeconfig: config.kubeconfig, env: process.env, userAgent: 'portico-netpol-agent' });
    const app = createApp({ config, log, client, kernel, version: VERSION });
    const shutdown = handleShutdown({ log });
    const listen = splitListenAddr(config.metricsAddr);
    if (listen) {
      await app.server.listen({ host: listen.host, port: listen.port });
      log.info({ event: 'listening', addr: config.metricsAddr }, 'serving /healthz, /readyz, /metrics');
    }
    // Closers run in reverse order: the app stops (no sync in flight) before its restore shell.
    shutdown.add(async () => writer.close());
    shutdown.add(() => app.close());
    await app.start();
    return new Promise<number>(() => undefined); // runs until a signal; handleShutdown exits the process
  },
});

process.exitCode = await runProgram(program, process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
