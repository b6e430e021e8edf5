// The command-line interface of ccm: `run` (default) and `render`.

import { isValidProgram } from '@portico/labels';
import type { CommandContext, Program } from '@portico/service-kit';
import { renderCoreConfig, renderServiceLBPart, runRenderCommand } from '@portico/servicelb-runtime';
import { controllerRunCommand, realControllerSystem, type ControllerSystem } from '@portico/service-kit/controller';
import { createApp } from './app.ts';
import { renderFlags, runConfigFrom, runFlags, serviceLBDisabled, VERSION } from './config.ts';
import { renderNodesText } from './render.ts';

const NAME = 'ccm';

const RUN_DETAILS = `Initializes Nodes tainted node.cloudprovider.kubernetes.io/uninitialized (kubelet
--cloud-provider=external): status.addresses from the <program>.io/* annotations (else the kubelet's
alpha.kubernetes.io/provided-node-ip, else the Node's own addresses), providerID <program>://<node>,
instance-type and topology labels, then the taint removed in one update, and a Normal Synced Event.
Keeps addresses current. Unless --disable servicelb, also runs ServiceLB (as servicelb-controller,
under the same Lease). See docs/ccm.md.`;

async function renderCcm(ctx: CommandContext): Promise<number> {
  const problems: string[] = [];
  const lbOff = serviceLBDisabled(ctx.values);
  const program = String(ctx.values['program']);
  const core = lbOff ? undefined : renderCoreConfig(ctx.values, problems);
  if (lbOff && !isValidProgram(program)) problems.push(`invalid --program / PORTICO_PROGRAM: ${JSON.stringify(program)}: must be a DNS-1123 label`);
  return runRenderCommand(ctx, NAME, problems, (objects, values) => {
    const nodes = renderNodesText(objects, program);
    const lb = core ? renderServiceLBPart(objects, core, values) : { documents: [], problems: [] };
    // A Node problem is found by both parts: report it once.
    const all = [...new Set([...nodes.problems, ...lb.problems])].sort();
    if (all.length > 0) return { documents: [], problems: all };
    for (const w of nodes.warnings) ctx.io.stderr.write(`${NAME} render: ${w}\n`);
    return {
      documents: {
        *[Symbol.iterator]() {
          yield* nodes.documents;
          yield* lb.documents;
        },
      },
      problems: [],
    };
  });
}

/** The command-line interface of ccm; `system` is the I/O of `run` (tests inject a fake). */
export function createProgram(system: ControllerSystem = realControllerSystem()): Program {
  return {
    name: NAME,
    summary: 'Cloud controller manager: node initialization (uninitialized taint, addresses, providerID k3s://), hosting ServiceLB',
    defaultCommand: 'run',
    commands: [
      { name: 'run', summary: 'Run node initialization (and ServiceLB unless disabled), leader-elected', details: RUN_DETAILS, flags: runFlags, run: controllerRunCommand({ name: NAME, version: VERSION, parse: runConfigFrom, createApp, system }) },
      {
        name: 'render',
        summary: 'Print the Node changes and the ServiceLB output ccm would write for snapshot files, with no cluster access',
        args: '[FILE...]',
        flags: renderFlags,
        run: renderCcm,
      },
    ],
  };
}
