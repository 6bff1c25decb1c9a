import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EvalStats, RoundRow, RunSummary } from '@fedsim/runtime';

export interface MethodResult {
  readonly label: string;
  readonly summary: RunSummary;
  readonly rows: readonly RoundRow[];
}

export async function readRunResults(runDir: string, label: string): Promise<MethodResult> {
  const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  const text = await readFile(join(runDir, 'results.jsonl'), 'utf8');
  const rows = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RoundRow);
  return { label, summary, rows };
}

const pct = (x: number | undefined) => (x === undefined ? '' : (100 * x).toFixed(2));
const finalView = (m: MethodResult, view: string): EvalStats | undefined => m.summary.final?.results[view];

export const TABLE_COLUMNS = [
  'method',
  'rounds',
  'best pooled acc (%)',
  'best at round',
  'final pooled acc (%)',
  'final mean ± std (%)',
  'final global acc (%)',
  'FT before → after (%)',
  'wall time (s)',
] as const;

function tableRow(m: MethodResult): string[] {
  const p = finalView(m, 'personalized');
  const before = finalView(m, 'before');
  const after = finalView(m, 'after');
  const wall = m.rows.reduce((s, r) => s + r.wallSeconds, 0);
  return [
    m.label,
    String(m.summary.rounds),
    pct(m.summary.bestPersonalized?.accuracy),
    String(m.summary.bestPersonalized?.round ?? ''),
    pct(p?.pooledAccuracy),
    p ? `${pct(p.mean)} ± ${pct(p.std)}` : '',
    pct(finalView(m, 'global')?.pooledAccuracy),
    before && after ? `${pct(before.pooledAccuracy)} → ${pct(after.pooledAccuracy)}` : '',
    wall.toFixed(0),
  ];
}

export function markdownTable(methods: readonly MethodResult[]): string {
  const rows = [...methods]
    .sort((a, b) => (b.summary.bestPersonalized?.accuracy ?? 0) - (a.summary.bestPersonalized?.accuracy ?? 0))
    .map(tableRow);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(TABLE_COLUMNS), line(TABLE_COLUMNS.map(() => '---')), ...rows.map(line)].join('\n');
}

export function csvTable(methods: readonly MethodResult[]): string {
  const quote = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return [TABLE_COLUMNS, ...methods.map(tableRow)].map((r) => r.map(quote).join(',')).join('\n');
}

/** One point per evaluation round and view: the data behind the accuracy-vs-round plots. */
export function accuracyPoints(methods: readonly MethodResult[]) {
  return methods.flatMap((m) =>
    m.rows.flatMap((r) =>
      Object.entries(r.evaluation ?? {}).map(([view, s]) => ({
        method: m.label,
        view,
        round: r.round + 1,
        accuracy: 100 * s.pooledAccuracy,
      })),
    ),
  );
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const axes = {
  x: { field: 'round', type: 'quantitative', title: 'round' },
  y: { field: 'accuracy', type: 'quantitative', title: 'pooled test accuracy (%)', scale: { zero: false } },
} as const;

/** comparison.md, comparison.csv, accuracy.svg (all methods) and one SVG per method. */
export async function writeComparisonReport(
  outDir: string,
  title: string,
  methods: readonly MethodResult[],
  command: string,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const points = accuracyPoints(methods);
  const written: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(outDir, name), text);
    written.push(join(outDir, name));
  };
  await write(
    'comparison.md',
    `# ${title}\n\nCommand: \`${command}\`\n\nPooled test accuracy of each client's personalised model ` +
      `(all clients' test predictions pooled); "best" is over the evaluation rounds.\n\n${markdownTable(methods)}\n\n` +
      `![accuracy vs round](accuracy.svg)\n`,
  );
  await write('comparison.csv', `${csvTable(methods)}\n`);
  await write(
    'accuracy.svg',
    await renderSvg({
      title: `${title}: personalised accuracy`,
      width: 640,
      height: 360,
      data: { values: points.filter((p) => p.view === 'personalized') },
      mark: { type: 'line', point: true },
      encoding: { ...axes, color: { field: 'method', type: 'nominal' } },
    }),
  );
  for (const m of methods) {
    await write(
      `${m.label}.svg`,
      await renderSvg({
        title: `${m.label}: accuracy by evaluated view`,
        width: 480,
        height: 280,
        data: { values: points.filter((p) => p.method === m.label) },
        mark: { type: 'line', point: true },
        encoding: { ...axes, color: { field: 'view', type: 'nominal' } },
      }),
    );
  }
  return written;
}
