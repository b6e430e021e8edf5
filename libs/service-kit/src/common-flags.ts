import { LOG_LEVELS } from './logger.ts';
import { validateListenAddr, type FlagSpec } from './flags.ts';

/** Flags every long-running (`run`) command takes (DESIGN.md, shape of every component). */
export function commonRunFlags(defaults: { metricsAddr: string }): FlagSpec[] {
  return [
    // No env binding: libs/kube reads KUBECONFIG itself, in controller-runtime's order (DESIGN.md).
    { name: 'kubeconfig', type: 'string', description: 'Path to a kubeconfig; else $KUBECONFIG, else in-cluster config, else ~/.kube/config' },
    {
      name: 'metrics-addr',
      type: 'string',
      env: 'PORTICO_METRICS_ADDR',
      default: defaults.metricsAddr,
      description: 'Listen address of /healthz, /readyz and /metrics; 0 disables',
      validate: (v: string) => validateListenAddr(v),
    },
    logLevelFlag(),
  ];
}

export function logLevelFlag(): FlagSpec {
  return { name: 'log-level', type: 'string', env: 'PORTICO_LOG_LEVEL', default: 'info', choices: LOG_LEVELS, description: 'Log level' };
}
