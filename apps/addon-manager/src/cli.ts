import { shellProgram } from '@portico/service-kit';

/** The command-line interface of addon-manager; its core comes in its own issue. */
export const program = shellProgram({
  name: 'addon-manager',
  summary: 'Add-on manager: manifests directory to server-side applied objects with pruning',
  metricsAddr: ':10262',
});
