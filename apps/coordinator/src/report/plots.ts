import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * 15 colours that stay apart for common colour-vision deficiencies as well as they can, paired
 * with 8 marker shapes: group i gets colour i mod 15 and shape i mod 8, so no two of the first
 * 120 groups look alike (and the first 15 differ by colour alone).
 */
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#393b79', '#e7ba52', '#637939', '#ad494a', '#000000',
] as const;
export const SHAPES = ['circle', 'square', 'diamond', 'triangle-up', 'triangle-down', 'cross', 'triangle-right', 'triangle-left'] as const;

export function styleScales(groups: readonly string[]) {
  return {
    color: { domain: [...groups], range: groups.map((_, i) => PALETTE[i % PALETTE.length]!) },
    shape: { domain: [...groups], range: groups.map((_, i) => SHAPES[i % SHAPES.length]!) },
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

type Points = readonly Record<string, unknown>[];

const legend = (groups: readonly string[]) => {
  const s = styleScales(groups);
  return {
    color: { field: 'group', type: 'nominal', title: 'group', scale: s.color },
    shape: { field: 'group', type: 'nominal', title: 'group', scale: s.shape },
  } as const;
};

/** Mean accuracy over seeds per evaluated round, with a ±1 std band over seeds. */
export function accuracyCurveSpec(points: Points, groups: readonly string[]): TopLevelSpec {
  const { color, shape } = legend(groups);
  const x = { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1, format: 'd' } } as const;
  return {
    title: 'pooled personalised accuracy: mean over seeds, band ±1 std over seeds',
    width: 640,
    height: 360,
    data: { values: [...points] },
    // the line layer first: the legend then shows its colour + marker pairs, not band swatches
    layer: [
      {
        mark: { type: 'line', point: { filled: true, size: 60 } },
        encoding: { x, y: { aggregate: 'mean', field: 'accuracy', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } }, color, shape },
      },
      {
        mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 },
        encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } }, color },
      },
    ],
  };
}

/** Final per-client accuracy per group (all seeds' clients together). */
export function clientDistributionSpec(points: Points, groups: readonly string[]): TopLevelSpec {
  const { color } = legend(groups);
  return {
    title: 'final per-client personalised accuracy (clients of all seeds)',
    width: 640,
    height: Math.max(120, 28 * groups.length),
    data: { values: [...points] },
    mark: { type: 'boxplot', extent: 1.5 },
    encoding: {
      y: { field: 'group', type: 'nominal', title: null, sort: [...groups] },
      x: { field: 'accuracy', type: 'quantitative', title: 'client accuracy (%)' },
      color: { ...color, legend: null },
    },
  };
}

/** Communication (upload + download) per round, mean over seeds. */
export function bytesSpec(points: Points, groups: readonly string[]): TopLevelSpec {
  const { color, shape } = legend(groups);
  return {
    title: 'communication per round (upload + download), mean over seeds',
    width: 640,
    height: 260,
    data: { values: [...points] },
    mark: { type: 'line', point: { filled: true, size: 40 } },
    encoding: {
      x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1, format: 'd' } },
      y: { aggregate: 'mean', field: 'megabytes', type: 'quantitative', title: 'MB' },
      color,
      shape,
    },
  };
}

/** Total wall time per run, mean over seeds with ±1 std. */
export function wallTimeSpec(points: Points, groups: readonly string[]): TopLevelSpec {
  const { color } = legend(groups);
  const y = { field: 'group', type: 'nominal', title: null, sort: [...groups] } as const;
  return {
    title: 'wall time per run: mean over seeds, ±1 std',
    width: 640,
    height: Math.max(120, 28 * groups.length),
    data: { values: [...points] },
    layer: [
      { mark: 'bar', encoding: { y, x: { aggregate: 'mean', field: 'seconds', type: 'quantitative', title: 'seconds' }, color: { ...color, legend: null } } },
      { mark: { type: 'errorbar', extent: 'stdev' }, encoding: { y, x: { field: 'seconds', type: 'quantitative' } } },
    ],
  };
}

/**
 * Accuracy against the virtual clock (runs with a `system` block): one line per run, since each
 * seed draws its own devices and so keeps its own clock; a mean over seeds would mix times.
 */
export function virtualAccuracySpec(points: Points, groups: readonly string[]): TopLevelSpec {
  const { color, shape } = legend(groups);
  return {
    title: 'pooled personalised accuracy vs virtual time: one line per run (seed)',
    width: 640,
    height: 360,
    data: { values: [...points] },
    mark: { type: 'line', point: { filled: true, size: 50 } },
    encoding: {
      x: { field: 'virtualSeconds', type: 'quantitative', title: 'virtual time (s)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } },
      color,
      shape,
      detail: { field: 'seed', type: 'nominal' },
      order: { field: 'virtualSeconds', type: 'quantitative' },
    },
  };
}

/** One colour per drop reason, the same in every report. */
const REASON_SCALE = { domain: ['deadline', 'offline', 'overcommit'], range: ['#d62728', '#7f7f7f', '#ff7f0e'] };

/** Sampled clients not trained, per round and reason, stacked; mean over seeds; one panel per group. */
export function droppedSpec(points: Points, groups: readonly string[]): TopLevelSpec {
  return {
    title: 'clients dropped per round by reason: mean over seeds',
    data: { values: [...points] },
    facet: { row: { field: 'group', type: 'nominal', title: null, sort: [...groups] } },
    spec: {
      width: 640,
      height: 110,
      mark: 'bar',
      encoding: {
        x: { field: 'round', type: 'ordinal', title: 'round' },
        y: { aggregate: 'mean', field: 'clients', type: 'quantitative', title: 'clients', stack: 'zero' },
        color: { field: 'reason', type: 'nominal', title: 'reason', scale: REASON_SCALE },
      },
    },
  };
}
