import { NetpolRenderer } from '@portico/netpol';
import { planFamily } from '../../apps/netpol-agent/src/kernel/plan.ts';
import { pod } from '../../apps/netpol-agent/src/test-fixtures.ts';
import { cluster, v4, v6 } from './cluster.ts';
const snap = cluster(5000, 500, 100);
const cfg = { nodeName: 'n1', families: ['IPv4' as const], defaultDeny: true };
const r = new NetpolRenderer();
let t = performance.now();
const d = r.render(snap, cfg);
console.log('render', performance.now() - t);
t = performance.now();
const p = planFamily(d.families[0]!, { family: 'IPv4', table: { chains: new Map() }, sets: new Map() });
console.log('plan empty', performance.now() - t);
let model = p.after;
for (let i = 0; i < 4; i++) {
  const extra = pod('ns-0', `new-${i}`, { app: 'app-0', tier: 'web', pod: `new-${i}` }, 'n1', [v4(6000 + i), v6(6000 + i)]);
  const s2 = { ...snap, pods: [...snap.pods, extra] };
  t = performance.now();
  const d2 = r.render(s2, cfg);
  const tr = performance.now() - t;
  t = performance.now();
  const p2 = planFamily(d2.families[0]!, model);
  console.log('render', tr.toFixed(0), 'plan pod change', (performance.now() - t).toFixed(0), p2.summary, p2.grow.length);
  model = p2.after;
}
