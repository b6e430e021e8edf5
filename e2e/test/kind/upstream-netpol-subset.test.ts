// T3: the CI subset of the upstream Kubernetes NetworkPolicy suite (issue 11; docs/e2e.md,
// "Upstream NetworkPolicy conformance"): `e2e/conformance/run --subset`, one spec per policy
// feature, on this tier's cluster (no second cluster) after portico.test.ts has uninstalled Portico
// (files run in name order). The script installs netpol-agent with the chart, runs the specs with
// e2e.test and ginkgo built here, and keeps the cluster for the tier runner to delete.
// PORTICO_CONFORMANCE_SUBSET=0 turns it off (reported as skipped).
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLUSTER, dualStack, REPO, requireCluster } from './cluster.ts';

// PORTICO_CONFORMANCE_SUBSET=0: reported as skipped.
(process.env.PORTICO_CONFORMANCE_SUBSET === '0' ? test.skip : test)('the upstream NetworkPolicy suite, CI subset (e2e/conformance/run --subset): every selected spec passes', () => {
  requireCluster();
  const family = dualStack() ? 'dual' : 'ipv4';
  const t0 = Date.now();
  const r = spawnSync('bash', ['e2e/conformance/run', '--subset', '--keep', '--name', CLUSTER, '--ip-family', family], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 45 * 60_000,
    maxBuffer: 64 << 20,
  });
  const log = `${r.stderr ?? ''}${r.stdout ?? ''}`;
  process.stdout.write(`# e2e/conformance/run --subset (${family}) took ${Math.round((Date.now() - t0) / 1000)} s\n`);
  const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(log);
  assert.ok(summary, `no "N passed, N failed, N skipped" line from e2e/conformance/run (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${log.slice(-4000)}`);
  const [passed, failed] = [Number(summary[1]), Number(summary[2])];
  assert.equal(failed, 0, `failed specs:\n${log.split('\n').filter((l) => l.startsWith('FAILED ')).join('\n')}\n${log.slice(-3000)}`);
  assert.ok(passed >= 10, `only ${passed} specs passed; the subset has 10 that run here (11 with SCTP sockets)`);
  assert.equal(r.status, 0, log.slice(-3000));
}, 46 * 60_000);
