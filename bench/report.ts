// Writes the generated sections of docs/benchmarks.md and their SVG plots (docs/benchmarks/*.svg)
// from the series records the benchmarks left in .cache/bench/<name>.json.
//
//   node --import tsx bench/report.ts [NAME...]    (no names: every .cache/bench/*.json)
//
// bench/run.sh calls it after the series it ran. Hand-written sections are kept; a series owns only
// the text between its markers (bench/src/report.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderSvg } from './src/plot.ts';
import { replaceSection, sectionMarkdown } from './src/report.ts';
import { parseSeries } from './src/series.ts';

const CACHE = '.cache/bench';
const DOC = 'docs/benchmarks.md';
const PLOTS = 'docs/benchmarks';

const names = process.argv.slice(2);
const files = names.length ? names.map((n) => `${CACHE}/${n}.json`) : existsSync(CACHE) ? readdirSync(CACHE).filter((f) => f.endsWith('.json')).sort().map((f) => `${CACHE}/${f}`) : [];
if (files.length === 0) {
  process.stderr.write(`bench/report.ts: no series records in ${CACHE}/ (run bench/run.sh first)\n`);
  process.exit(1);
}
let doc = readFileSync(DOC, 'utf8');
mkdirSync(PLOTS, { recursive: true });
for (const f of files) {
  if (!existsSync(f)) {
    process.stderr.write(`bench/report.ts: ${f} not found (did that series run?)\n`);
    process.exit(1);
  }
  const s = parseSeries(JSON.parse(readFileSync(f, 'utf8')), f);
  for (const p of s.plots) writeFileSync(`${PLOTS}/${p.file}`, await renderSvg(p));
  const md = sectionMarkdown(s, 'benchmarks');
  doc = replaceSection(doc, s.name, md);
  process.stdout.write(`${md}\n\n`);
  process.stderr.write(`bench/report.ts: ${s.name}: section in ${DOC}, ${s.plots.length} plot(s) in ${PLOTS}/\n`);
}
writeFileSync(DOC, doc);
