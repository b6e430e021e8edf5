// docs/conformance.md from the JUnit report of the upstream NetworkPolicy e2e suite
// (e2e/conformance/run). The JUnit file is Ginkgo's (k8s.io/kubernetes test/e2e with --report-dir):
// one <testcase> per spec of the whole suite, those outside the focus included as skipped, so the
// report selects the specs by the same focus/skip expressions the run used.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export type Status = 'passed' | 'failed' | 'skipped';

export interface JUnitCase {
  name: string;
  /** Ginkgo's status attribute (passed, failed, skipped, pending, panicked, interrupted, timedout, aborted). */
  status: string;
  seconds: number;
  /** The <failure>/<error> message, or the <skipped> message. */
  message: string;
}

export interface Row {
  name: string;
  status: Status;
  seconds: number;
  /** Why it was skipped, or the failure message. */
  detail: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

function attrs(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([A-Za-z_:][-\w.:]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out.set(m[1] as string, decodeXml(m[2] ?? m[3] ?? ''));
  }
  return out;
}

/** Every <testcase> of a JUnit document. Throws when there is none (not a JUnit report). */
export function parseJUnit(xml: string): JUnitCase[] {
  const cases: JUnitCase[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const a = attrs(m[1] as string);
    const body = m[3] ?? '';
    const name = a.get('name');
    if (name === undefined) throw new Error(`a <testcase> without a name attribute: ${(m[0] as string).slice(0, 120)}`);
    const failure = /<(failure|error)\b([^>]*)/.exec(body);
    const skipped = /<skipped\b([^>]*)/.exec(body);
    let status = a.get('status');
    if (status === undefined) status = failure ? 'failed' : skipped ? 'skipped' : 'passed';
    const seconds = Number(a.get('time') ?? '0');
    if (!Number.isFinite(seconds)) throw new Error(`testcase "${name}": time="${a.get('time')}" is not a number`);
    const message = failure ? (attrs(failure[2] as string).get('message') ?? '') : skipped ? (attrs(skipped[1] as string).get('message') ?? '') : '';
    cases.push({ name, status, seconds, message });
  }
  if (cases.length === 0) throw new Error('no <testcase> elements: not a JUnit report');
  return cases;
}

/** Ginkgo's spec text without the leaf node prefix ("[It] "), which k8s omits but other configs keep. */
function specText(name: string): string {
  return name.replace(/^\[It\]\s+/, '');
}

/**
 * The specs the run selected, in name order: those matching `focus`, where a match of `skip` is
 * reported as skipped with `skipReason` (Ginkgo reports them as plain skips). Suite setup and
 * report nodes ([SynchronizedBeforeSuite], [ReportAfterSuite] ...) are left out unless they failed:
 * a failed setup fails the run and must show.
 */
export function selectRows(cases: readonly JUnitCase[], focus: string, skip: string, skipReason: string): Row[] {
  const f = new RegExp(focus);
  const s = skip ? new RegExp(skip) : undefined;
  const rows: Row[] = [];
  for (const c of cases) {
    const text = specText(c.name);
    const suiteNode = /^\[(SynchronizedBeforeSuite|SynchronizedAfterSuite|BeforeSuite|AfterSuite|ReportBeforeSuite|ReportAfterSuite|DeferCleanup \(Suite\))\]/.test(text);
    const failed = !['passed', 'skipped', 'pending'].includes(c.status);
    if (suiteNode) {
      if (failed) rows.push({ name: text, status: 'failed', seconds: c.seconds, detail: c.message });
      continue;
    }
    if (!f.test(text)) continue;
    if (s?.test(text)) {
      rows.push({ name: text, status: 'skipped', seconds: c.seconds, detail: skipReason });
    } else if (c.status === 'passed') {
      rows.push({ name: text, status: 'passed', seconds: c.seconds, detail: '' });
    } else if (c.status === 'skipped' || c.status === 'pending') {
      rows.push({ name: text, status: 'skipped', seconds: c.seconds, detail: c.message || c.status });
    } else {
      rows.push({ name: text, status: 'failed', seconds: c.seconds, detail: `${c.status}: ${c.message}` });
    }
  }
  if (rows.length === 0) throw new Error(`no spec of the report matches the focus /${focus}/`);
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}

export function totals(rows: readonly Row[]): Totals {
  const t = { passed: 0, failed: 0, skipped: 0, seconds: 0 };
  for (const r of rows) {
    t[r.status] += 1;
    t.seconds += r.seconds;
  }
  return t;
}

export interface Meta {
  k8sVersion: string;
  focus: string;
  skip: string;
  skipReason: string;
  procs: number;
  wallSeconds: number;
  nodes: number;
  agentImage: string;
  machine: string;
  date: string;
}

/**
 * What kube-router (the K3s peer) gets wrong that a spec exercises, keyed by a piece of the spec
 * name. Each entry names the deviation in /work/shared/specs/netpol.md section 8 that it comes
 * from. Only entries checked against the spec's policy are here.
 */
export const KUBE_ROUTER_NOTES: readonly { match: string; note: string }[] = [];

/**
 * Why the known kube-router deviations (netpol spec section 8, D1-D5) do not show in this suite:
 * checked against the specs' policies in k8s.io/kubernetes v1.34.4 test/e2e/network/netpol.
 */
const KUBE_ROUTER_COVERAGE: readonly string[] = [
  'kube-router\'s known policy-logic deviations (netpol spec section 8) are real, but this suite\'s',
  'policies do not reach them. Portico\'s own tests cover each of them (libs/netpol truth tables, NP-52 to NP-59):',
  '',
  '- **D1, cross-direction leakage in a policy with both types:** the one spec with such a policy,',
  '  "should work with Ingress, Egress specified together", selects only `x/a`. The leak needs a',
  '  packet between two pods that the same policy selects.',
  '- **D2, named ports that resolve to nothing:** every named port in the suite exists on every',
  '  agnhost pod of those specs (`serve-80-tcp`, `serve-81-tcp`).',
  '- **D3, overlapping ipBlock peers in one rule:** each ipBlock rule of the suite has a single peer.',
  '  "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed" replaces the',
  '  policy instead of adding a second peer.',
  '- **D4, egress named ports with ipBlock peers:** not used by any spec.',
  '- **D5, egress named ports without `to`:** "should allow egress access on one named port" uses',
  '  one. It passes on kube-router only because every pod of every namespace has the same port names.',
  '- **D6, IPv6 `::/0` approximated:** no spec has an IPv6 ipBlock; on the dual-stack cluster the',
  '  suite\'s ipBlocks hold the pods\' primary (IPv4) addresses.',
];

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

export type Family = 'ipv4' | 'dual';
export const FAMILIES: readonly Family[] = ['ipv4', 'dual'];
const FAMILY_TITLE: Record<Family, string> = { ipv4: 'IPv4 cluster', dual: 'Dual-stack cluster' };
const FAMILY_NET: Record<Family, { cluster: string; cidrs: string }> = {
  ipv4: { cluster: 'IPv4', cidrs: '10.96.0.0/16' },
  dual: {
    cluster: 'dual-stack (`e2e/kind/up --ip-family dual`: IPv4 primary, IPv6 secondary pod and Service ranges; the suite probes the pods\' primary addresses, and netpol-agent programs both families)',
    cidrs: '10.96.0.0/16 and fd00:10:96::/112',
  },
};
const marker = (f: Family, end = false): string => `<!-- ${end ? '/' : ''}run:${f} -->`;

/** One run's section of docs/conformance.md, between its markers. */
export function renderRun(family: Family, meta: Meta, rows: readonly Row[]): string {
  const t = totals(rows);
  const verdict = t.failed === 0 ? 'every selected spec passed' : `${t.failed} failed`;
  const lines: string[] = [
    marker(family),
    `## ${FAMILY_TITLE[family]}`,
    '',
    `**Result: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped** (${rows.length} specs selected; ${verdict}).`,
    '',
    '| | |',
    '|---|---|',
    `| Kubernetes (cluster and suite) | ${meta.k8sVersion}: \`e2e.test\` and agnhost built from the k8s.io/kubernetes module at this version (\`tools/k8s/build-tools e2e-test\`) |`,
    `| Focus | \`${cell(meta.focus)}\` |`,
    `| Skip | ${meta.skip ? `\`${cell(meta.skip)}\`: ${cell(meta.skipReason)}` : 'none'} |`,
    `| Cluster | kind, ${meta.nodes} nodes (a control plane and two workers), ${FAMILY_NET[family].cluster}, kube-proxy iptables, CNI ptp (no policy of its own) |`,
    `| Portico | \`${meta.agentImage}\`, \`helm upgrade --install portico deploy/helm/portico\` (netpol-agent, chart defaults, serviceCIDRs ${FAMILY_NET[family].cidrs}) |`,
    `| Run | \`e2e/conformance/run --ip-family ${family}\`: \`ginkgo --procs=${meta.procs}\`, ${Math.round(meta.wallSeconds)} s wall clock, ${Math.round(t.seconds)} s summed over specs |`,
    `| Date | ${meta.date} |`,
    `| Machine | ${cell(meta.machine)} |`,
    '',
    `### Every spec (${FAMILY_TITLE[family]})`,
    '',
    '| # | Spec | Result | Time (s) |',
    '|---:|---|---|---:|',
  ];
  rows.forEach((r, i) => {
    const detail = r.status === 'passed' ? '' : ` (${cell(r.detail).slice(0, 300)})`;
    lines.push(`| ${i + 1} | ${cell(r.name)} | ${r.status}${detail} | ${r.seconds.toFixed(1)} |`);
  });
  lines.push('', `Totals: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped, ${rows.length} in all.`, marker(family, true));
  return lines.join('\n');
}

/** The run sections of an existing page, by family (a page without markers has none). */
export function runSections(page: string): Map<Family, string> {
  const out = new Map<Family, string>();
  for (const f of FAMILIES) {
    const a = page.indexOf(marker(f));
    const b = page.indexOf(marker(f, true));
    if (a >= 0 && b > a) out.set(f, page.slice(a, b + marker(f, true).length));
  }
  return out;
}

/**
 * docs/conformance.md with `section` as the run of `family`, keeping the other family's run from
 * `existing` (each run is one command; the page reports both). `rows` feeds the kube-router notes.
 */
export function renderPage(existing: string | undefined, family: Family, section: string, rows: readonly Row[]): string {
  const sections = runSections(existing ?? '');
  sections.set(family, section);
  const present = FAMILIES.filter((f) => sections.has(f));
  const lines: string[] = [
    '# Upstream NetworkPolicy conformance',
    '',
    '<!-- Generated by e2e/conformance/run (e2e/src/conformance-report.ts) from the JUnit reports. Do not edit by hand. -->',
    '',
    'The upstream Kubernetes NetworkPolicy e2e suite (`test/e2e/network/netpol` of k8s.io/kubernetes,',
    'the "Netpol" specs), built here and run unmodified against Portico\'s netpol-agent installed by the',
    'chart on kind, once per cluster IP family. Re-run one and regenerate its section of this page with',
    '`e2e/conformance/run --ip-family ipv4|dual` (`npx nx run e2e:conformance`); the other section is kept.',
    'The suite at this version has no IPv6-specific NetworkPolicy spec: on the dual-stack cluster it probes',
    'the pods\' primary (IPv4) addresses while netpol-agent programs both families. NetworkPolicy over',
    'IPv6 between real pods on different nodes is checked by `nx e2e` on a dual-stack cluster (docs/e2e.md).',
    '',
    ...present.map((f) => `- ${FAMILY_TITLE[f]}: ${/\*\*Result: ([^*]+)\*\*/.exec(sections.get(f)!)?.[1] ?? '?'}`),
    '',
  ];
  for (const f of present) lines.push(sections.get(f)!, '');
  const notes = rows.flatMap((r) => KUBE_ROUTER_NOTES.filter((n) => r.name.includes(n.match)).map((n) => ({ row: r, note: n.note })));
  lines.push('## Where kube-router would fail', '');
  if (notes.length === 0) {
    lines.push('No spec of these runs is known to fail against kube-router.', '');
  } else {
    for (const { row, note } of notes) lines.push(`- **${cell(row.name)}** (${row.status} for Portico): ${note}`);
    lines.push('');
  }
  lines.push(...KUBE_ROUTER_COVERAGE, '');
  return lines.join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      junit: { type: 'string' },
      out: { type: 'string' },
      'k8s-version': { type: 'string' },
      focus: { type: 'string' },
      skip: { type: 'string', default: '' },
      'skip-reason': { type: 'string', default: '' },
      procs: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '0' },
      nodes: { type: 'string', default: '0' },
      'agent-image': { type: 'string', default: '' },
      machine: { type: 'string', default: '' },
      family: { type: 'string', default: 'ipv4' },
      summary: { type: 'boolean', default: false },
    },
  });
  const need = (k: 'junit' | 'focus'): string => {
    const v = values[k];
    if (!v) {
      process.stderr.write(`conformance-report: --${k} is required\n`);
      process.exit(2);
    }
    return v;
  };
  const junit = need('junit');
  const focus = need('focus');
  const rows = selectRows(parseJUnit(readFileSync(junit, 'utf8')), focus, values.skip, values['skip-reason']);
  const t = totals(rows);
  if (values.summary) {
    for (const r of rows) if (r.status === 'failed') process.stdout.write(`FAILED ${r.name}\n`);
    process.stdout.write(`${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped\n`);
    return;
  }
  if (!values.out || !values['k8s-version']) {
    process.stderr.write('conformance-report: --out and --k8s-version are required (or --summary)\n');
    process.exit(2);
  }
  const meta: Meta = {
    k8sVersion: values['k8s-version'],
    focus,
    skip: values.skip,
    skipReason: values['skip-reason'],
    procs: Number(values.procs),
    wallSeconds: Number(values.seconds),
    nodes: Number(values.nodes),
    agentImage: values['agent-image'],
    machine: values.machine,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const family = values.family as Family;
  if (!FAMILIES.includes(family)) {
    process.stderr.write(`conformance-report: --family: want ${FAMILIES.join(' or ')}, got ${JSON.stringify(values.family)}\n`);
    process.exit(2);
  }
  const existing = existsSync(values.out) ? readFileSync(values.out, 'utf8') : undefined;
  writeFileSync(values.out, renderPage(existing, family, renderRun(family, meta, rows), rows));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
