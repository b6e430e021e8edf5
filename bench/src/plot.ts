/** Renders a {@link Plot} to SVG in Node: a Vega-Lite spec compiled to Vega, rendered headless (no browser). */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Plot } from './series.ts';

/** The Vega-Lite spec of a plot: points joined by lines, one colour per series, log axes on request. */
export function vegaLiteSpec(plot: Plot): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    width: 480,
    height: 300,
    background: 'white',
    data: { values: plot.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: plot.x.title, scale: plot.x.log ? { type: 'log' } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: plot.y.title, scale: plot.y.log ? { type: 'log' } : {} },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'y' }],
    },
  };
}

/** SVG text of the plot. Throws when a log axis gets a value ≤ 0 (Vega would silently drop it). */
export async function renderSvg(plot: Plot): Promise<string> {
  for (const [axis, log] of [['x', plot.x.log], ['y', plot.y.log]] as const) {
    const bad = log ? plot.points.find((p) => !(p[axis] > 0)) : undefined;
    if (bad) throw new Error(`${plot.file}: log ${axis} axis needs positive values, got ${bad[axis]} (${bad.series})`);
  }
  const view = new View(parse(compile(vegaLiteSpec(plot)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
