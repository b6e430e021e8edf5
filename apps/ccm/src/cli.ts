import { commonRunFlags, ExitCode, type Program } from '@portico/service-kit';

const NAME = 'ccm';

function notInThisBuild(what: string) {
  return (ctx: { io: { stderr: { write(s: string): unknown } } }): number => {
    ctx.io.stderr.write(`${NAME}: '${what}' is not available in this build: the ${NAME} core is tracked in its own issue\n`);
    return ExitCode.failure;
  };
}

/** The command-line interface of ccm. */
export const program: Program = {
  name: NAME,
  summary: 'Cloud controller manager: node initialization (uninitialized taint, addresses, providerID k3s://)',
  defaultCommand: 'run',
  commands: [
    { name: 'run', summary: 'Run the long-running service', flags: commonRunFlags({ metricsAddr: ':10258' }), run: notInThisBuild('run') },
    {
      name: 'render',
      summary: 'Print what the core would produce from snapshot files, with no cluster access',
      args: 'FILE...',
      flags: [{ name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot file (YAML or JSON, v1 List or multi-document; - for stdin)' }],
      run: notInThisBuild('render'),
    },
  ],
};
