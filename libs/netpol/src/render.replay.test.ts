/**
 * The incremental path against a from-scratch render (issue 13): a long seeded sequence of pod,
 * namespace and policy events (ClusterEvents: adds, deletes, relabels, moves, readdressing,
 * finished pods, namespace label changes, policy replacements) goes through one long-lived
 * NetpolRenderer, as the agent's syncs do; after every event its output must equal renderNetpol's
 * on the same snapshot, byte for byte (rules, sets, problems), on both nodes of the cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { ClusterEvents } from './testing/index.ts';
import { NetpolRenderer, renderNetpol } from './render.ts';
import { toDesiredText } from './text.ts';
import type { DesiredState, NetpolConfig } from './types.ts';

const STEPS = Number(process.env['PORTICO_REPLAY_STEPS'] ?? 400);
const text = (d: DesiredState): string => toDesiredText(d) + JSON.stringify(d.problems);

describe(`incremental render replay (${STEPS} events per seed)`, () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: after every event the incremental render equals a from-scratch render, on n1 and n2`, () => {
      const events = new ClusterEvents(seed);
      const configs: NetpolConfig[] = [
        { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true },
        { nodeName: 'n2', families: ['IPv4', 'IPv6'], defaultDeny: false, acceptPlacement: 'after-kube-rules', nflog: { perPolicy: true } },
      ];
      const renderers = configs.map(() => new NetpolRenderer());
      const history: string[] = [];
      let changed = 0;
      let prev = '';
      for (let step = 0; step < STEPS; step++) {
        history.push(events.step());
        const snap = events.snapshot();
        configs.forEach((cfg, i) => {
          const got = text(renderers[i]!.render(snap, cfg));
          const want = text(renderNetpol(snap, cfg));
          if (got !== want) assert.fail(`seed ${seed} step ${step} node ${cfg.nodeName}: incremental render differs; last events: ${history.slice(-5).join('; ')}`);
          if (i === 0) {
            if (got !== prev) changed++;
            prev = got;
          }
        });
      }
      // The sequence exercises the renderer: most events change the output.
      assert.ok(changed > STEPS / 3, `only ${changed} of ${STEPS} events changed the output`);
    });
  }
});
