import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { decodeXml, parseJUnit, renderPage, renderRun, runSections, selectRows, totals, type Meta } from './conformance-report.ts';

// The shape Ginkgo v2 writes for k8s.io/kubernetes test/e2e (--report-dir): every spec of the suite,
// unfocused ones as skipped, suite nodes as their own cases.
const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" disabled="0" errors="0" failures="1" time="61.2">
  <testsuite name="Kubernetes e2e suite" tests="6" skipped="3" failures="1" time="61.2">
    <properties><property name="SuiteSucceeded" value="false"></property></properties>
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="0.5"></testcase>
    <testcase name="[sig-network] Netpol NetworkPolicy between server and client should support a &#39;default-deny-ingress&#39; policy [Feature:NetworkPolicy]" classname="Kubernetes e2e suite" status="passed" time="19.75"></testcase>
    <testcase name="[sig-network] Netpol NetworkPolicy between server and client should enforce policy based on Ports [Feature:NetworkPolicy]" classname="Kubernetes e2e suite" status="failed" time="40.1">
      <failure message="Had 2 wrong results in reachability matrix &amp; more" type="failed">[FAILED] details</failure>
      <system-err>log</system-err>
    </testcase>
    <testcase name="[sig-network] Netpol NetworkPolicy between server and client should support a &#39;default-deny-ingress&#39; policy for SCTP [Feature:SCTPConnectivity]" classname="Kubernetes e2e suite" status="skipped" time="0">
      <skipped message="skipped"></skipped>
    </testcase>
    <testcase name="[sig-storage] CSI something unrelated" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[ReportAfterSuite] Kubernetes e2e JUnit report" classname="Kubernetes e2e suite" status="passed" time="0.1"></testcase>
  </testsuite>
</testsuites>`;

test('decodeXml decodes named and numeric entities and leaves unknown ones', () => {
  assert.equal(decodeXml('a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; &#x41; &nbsp;'), 'a & b <c> "d" \'e\' A &nbsp;');
});

test('parseJUnit reads every testcase with status, time and message', () => {
  const cases = parseJUnit(JUNIT);
  assert.equal(cases.length, 6);
  assert.deepEqual(cases[2], {
    name: '[sig-network] Netpol NetworkPolicy between server and client should enforce policy based on Ports [Feature:NetworkPolicy]',
    status: 'failed',
    seconds: 40.1,
    message: 'Had 2 wrong results in reachability matrix & more',
  });
  assert.match(cases[1]?.name ?? '', /'default-deny-ingress' policy/);
});

test('parseJUnit derives the status from the body when there is no status attribute', () => {
  const cases = parseJUnit('<testsuite><testcase name="a" time="1"/><testcase name="b" time="2"><failure message="boom"/></testcase><testcase name="c"><skipped/></testcase></testsuite>');
  assert.deepEqual(cases.map((c) => [c.name, c.status, c.seconds, c.message]), [['a', 'passed', 1, ''], ['b', 'failed', 2, 'boom'], ['c', 'skipped', 0, '']]);
});

test('parseJUnit rejects a document without testcases and a non-numeric time', () => {
  assert.throws(() => parseJUnit('<html></html>'), /not a JUnit report/);
  assert.throws(() => parseJUnit('<testcase name="x" time="soon"/>'), /time="soon" is not a number/);
});

test('selectRows keeps the focused specs, marks skip matches with the reason, drops suite nodes that passed', () => {
  const rows = selectRows(parseJUnit(JUNIT), '\\[sig-network\\] Netpol', 'SCTP|sctp', 'no SCTP here');
  assert.deepEqual(rows.map((r) => [r.status, r.detail.slice(0, 20)]), [
    ['failed', 'failed: Had 2 wrong '],
    ['passed', ''],
    ['skipped', 'no SCTP here'],
  ]);
  assert.deepEqual(totals(rows), { passed: 1, failed: 1, skipped: 1, seconds: 59.85 });
});

test('selectRows reports a failed suite setup node and fails loudly when nothing matches the focus', () => {
  const xml = JUNIT.replace('name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed"', 'name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="failed"');
  const rows = selectRows(parseJUnit(xml), 'Netpol', '', '');
  assert.ok(rows.some((r) => r.name === '[SynchronizedBeforeSuite]' && r.status === 'failed'));
  assert.throws(() => selectRows(parseJUnit(JUNIT), 'NoSuchSpec', '', ''), /no spec of the report matches/);
});

test('renderRun lists every spec with its result and the totals; renderPage keeps the other family\'s run', () => {
  const meta: Meta = {
    k8sVersion: 'v1.34.4', focus: '\\[sig-network\\] Netpol', skip: 'SCTP|sctp', skipReason: 'no SCTP here', procs: 3,
    wallSeconds: 300, nodes: 3, agentImage: 'ghcr.io/portico/netpol-agent:0.1.0', machine: 'kind (2 vCPU)', date: '2026-12-07T17:00:00Z',
  };
  const rows = selectRows(parseJUnit(JUNIT), meta.focus, meta.skip, meta.skipReason);
  const v4 = renderRun('ipv4', meta, rows);
  assert.match(v4, /^<!-- run:ipv4 -->\n## IPv4 cluster/);
  assert.match(v4, /\*\*Result: 1 passed, 1 failed, 1 skipped\*\*/);
  assert.match(v4, /\| Skip \| `SCTP\\\|sctp`: no SCTP here \|/);
  assert.match(v4, /\| 2 \| \[sig-network\] Netpol .*'default-deny-ingress' policy \[Feature:NetworkPolicy\] \| passed \| 19\.8 \|/);
  assert.match(v4, /should enforce policy based on Ports .* \| failed \(failed: Had 2 wrong results/);
  assert.match(v4, /Totals: 1 passed, 1 failed, 1 skipped, 3 in all\.\n<!-- \/run:ipv4 -->$/);

  const page1 = renderPage(undefined, 'ipv4', v4, rows);
  assert.deepEqual([...runSections(page1).keys()], ['ipv4']);
  const passing = selectRows(parseJUnit(JUNIT.replace('status="failed" time="40.1"', 'status="passed" time="40.1"')), meta.focus, meta.skip, meta.skipReason);
  const dual = renderRun('dual', meta, passing);
  assert.match(dual, /fd00:10:96::\/112/);
  const page2 = renderPage(page1, 'dual', dual, passing);
  assert.deepEqual([...runSections(page2).keys()], ['ipv4', 'dual'], 'both runs, IPv4 first');
  assert.equal(runSections(page2).get('ipv4'), v4, 'the IPv4 run is kept byte for byte');
  assert.match(page2, /- IPv4 cluster: 1 passed, 1 failed, 1 skipped\n- Dual-stack cluster: 2 passed, 0 failed, 1 skipped/);
  const page3 = renderPage(page2, 'dual', dual, passing);
  assert.equal(page3, page2, 're-rendering the same run changes nothing');
});
