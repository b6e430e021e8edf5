import { LOG_LEVELS } from './logger.ts';
import { validateListenAddr, type FlagSpec } from './flags.ts';

/** Flags every long-running (`run`) command takes (DESIGN.md, shape of every component). */
export function commonRunFlags(defaults: { metricsAddr: string }): FlagSpec[] {
  return [
    { name: 'kubeconfig', type: 'string', env: 'KUBECONFIG', description: 'Path to a kubeconfig; else in-cluster config' },
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
