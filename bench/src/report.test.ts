import { describe, expect, test } from '@jest/globals';
import { renderSvg } from './plot.ts';
import { replaceSection, sectionMarkdown } from './report.ts';
import { parseSeries, type Series } from './series.ts';
import { fmtBytes, fmtMs, summarize } from './stats.ts';

const series: Series = {
  name: 'demo',
  title: 'demo: Portico vs peer',
  command: 'bash bench/run.sh demo',
  machine: { cpu: 'CPU', cores: 2, memoryGiB: 24, kernel: '6.18', os: 'Debian', node: 'v24', iptables: 'iptables v1.8.9 (nf_tables)' },
  started: '2026-12-07T22:00:00.000Z',
  finished: '2026-12-07T22:10:00.000Z',
  loadAverage: [2.5, 3.1],
  versions: { portico: 'abc1234', peer: 'v2.1.0' },
  repetitions: 5,
  method: ['How it was measured.'],
  columns: ['size', 'a | b'],
  rows: [['100', '1 ms']],
  findings: ['Goal met.'],
  plots: [
    {
      file: 'demo-full.svg',
      title: 'full sync',
      x: { title: 'pods', log: true },
      y: { title: 'ms', log: true },
      points: [
        { x: 100, y: 5, series: 'Portico' },
        { x: 1000, y: 50, series: 'Portico' },
        { x: 100, y: 40, series: 'peer' },
        { x: 1000, y: 900, series: 'peer' },
      ],
    },
  ],
};

describe('summarize', () => {
  test('median of odd and even counts, nearest-rank p99, NaN ignored', () => {
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, p99: 3, min: 1, max: 3 });
    expect(summarize([4, 1, 3, 2, NaN]).median).toBe(2.5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize(hundred).p99).toBe(99);
    expect(summarize([]).n).toBe(0);
  });
  test('formatting', () => {
    expect(fmtMs(1.234)).toBe('1.23 ms');
    expect(fmtMs(12.34)).toBe('12.3 ms');
    expect(fmtMs(12_345)).toBe('12.3 s');
    expect(fmtBytes(2 << 20)).toBe('2.0 MiB');
    expect(fmtBytes(512)).toBe('512 B');
  });
});

describe('docs/benchmarks.md sections', () => {
  test('a new series is appended; a second run replaces only its own block', () => {
    const doc = '# Benchmarks\n\n## hand-written\n\ntext\n';
    const once = replaceSection(doc, 'demo', sectionMarkdown(series, 'benchmarks'));
    expect(once.startsWith(doc.trimEnd())).toBe(true);
    expect(once).toContain('| size | a \\| b |');
    expect(once).toContain('![full sync](benchmarks/demo-full.svg)');
    expect(once).toContain('load average 2.5 at the start, 3.1 at the end; 5 repetitions');
    const twice = replaceSection(once + '\n## after\n', 'demo', 'new body');
    expect(twice).toContain('## hand-written\n\ntext');
    expect(twice).toContain('new body');
    expect(twice).not.toContain('| size |');
    expect(twice).toContain('## after');
  });
  test('a begin marker without its end is an error, not a truncated document', () => {
    expect(() => replaceSection('<!-- bench:demo:begin x -->\nrest', 'demo', 'b')).toThrow(/no matching/);
  });
  test('parseSeries names the bad field', () => {
    expect(() => parseSeries({ ...series, name: 'Bad Name' }, 'x.json')).toThrow(/x.json: name/);
    expect(() => parseSeries({ ...series, rows: [['only one cell']] }, 'x.json')).toThrow(/rows\[0\]/);
    expect(parseSeries(JSON.parse(JSON.stringify(series)), 'x.json').name).toBe('demo');
  });
});

describe('renderSvg', () => {
  test('draws both series on shared log axes with their titles', async () => {
    const svg = await renderSvg(series.plots[0]!);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['Portico', 'peer', 'pods', 'ms', 'full sync']) expect(svg).toContain(`>${text}<`);
    // one line per series, each in its own colour, each from x=100 (left edge) to x=1000 (right edge)
    const lines = [...svg.matchAll(/aria-roledescription="line mark" d="M0,[\d.]+L480,[\d.]+" stroke="(#[0-9a-f]+)"/g)];
    expect(lines.length).toBe(2);
    expect(new Set(lines.map((m) => m[1])).size).toBe(2);
  });
  test('a non-positive value on a log axis is refused', async () => {
    const p = { ...series.plots[0]!, points: [{ x: 100, y: 0, series: 'Portico' }] };
    await expect(renderSvg(p)).rejects.toThrow(/log y axis needs positive values, got 0/);
  });
});
