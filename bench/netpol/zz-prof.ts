import { renderNetpol } from '@portico/netpol';
import { planFamily } from '../../apps/netpol-agent/src/kernel/plan.ts';
import { cluster } from './cluster.ts';
const snap = cluster(1000, 100, 100);
const cfg = { nodeName: 'n1', families: ['IPv4' as const], defaultDeny: true };
let t = performance.now();
const d = renderNetpol(snap, cfg);
console.log('render', performance.now() - t);
const f = d.families[0]!;
t = performance.now();
const p = planFamily(f, { family: 'IPv4', table: { chains: new Map() }, sets: new Map() });
console.log('plan empty', performance.now() - t);
for (let i = 0; i < 3; i++) {
  const d2 = renderNetpol(snap, cfg);
  t = performance.now();
  planFamily(d2.families[0]!, p.after);
  console.log('plan unchanged', performance.now() - t);
}
