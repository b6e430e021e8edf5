import { shellProgram } from '@portico/service-kit';

/** The command-line interface of ccm; its core (node initialization) comes in its own issue. */
export const program = shellProgram({
  name: 'ccm',
  summary: 'Cloud controller manager: node initialization (uninitialized taint, addresses, providerID k3s://)',
  metricsAddr: ':10258',
});
