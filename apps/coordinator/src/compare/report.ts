import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvalStats, RoundRow, RunSummary } from '@fedsim/runtime';
import { roundDropPoints } from '../report/aggregate.js';
import { droppedSpec, renderSvg, styleScales, virtualAccuracySpec } from '../report/plots.js';

export interface MethodResult {
  readonly label: string;
  readonly summary: RunSummary;
  readonly rows: readonly RoundRow[];
  /** final personalized accuracy averaged over clients that trained at least once, and over the rest */
  readonly participation?: { readonly trained: number; readonly untrained: number; readonly trainedClients: number };
}

export async function readRunResults(runDir: string, label: string): Promise<MethodResult> {
  const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  const text = await readFile(join(runDir, 'results.jsonl'), 'utf8');
  const rows = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RoundRow);
  const participation = await participationSplit(runDir, summary, rows);
  return { label, summary, rows, ...(participation ? { participation } : {}) };
}

/**
 * With few rounds many clients never train; methods that personalize through training then
 * look worse than they are. Splits the final per-client accuracy by whether the client ever
 * delivered an update (needs the run's evaluation summary, present for embedded runs).
 */
async function participationSplit(runDir: string, summary: RunSummary, rows: readonly RoundRow[]) {
  const evalFile = join(runDir, 'evals', `${String(summary.final?.round ?? 0).padStart(6, '0')}.json`);
  let perClient: Record<string, Record<string, number>>;
  try {
    perClient = (JSON.parse(await readFile(evalFile, 'utf8')) as { perClient: typeof perClient }).perClient;
  } catch {
    return undefined;
  }
  // Each row names the clients the coordinator sampled for it; those that did not fail trained.
  const trained = new Set<number>();
  for (const row of rows) {
    const failed = new Set(row.failures.map((f) => f.clientId));
    for (const c of row.sampled) if (!failed.has(c)) trained.add(c);
  }
  const mean = (ids: string[]) => ids.reduce((a, id) => a + (perClient[id]?.['personalized'] ?? 0), 0) / Math.max(1, ids.length);
  const ids = Object.keys(perClient);
  const yes = ids.filter((id) => trained.has(Number(id)));
  return { trained: mean(yes), untrained: mean(ids.filter((id) => !trained.has(Number(id)))), trainedClients: yes.length };
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
  'trained / untrained clients mean (%)',
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
    m.participation ? `${pct(m.participation.trained)} / ${pct(m.participation.untrained)}` : '',
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

/**
 * Personalised accuracy against the virtual clock at the end of each evaluated round, for the
 * methods run in virtual time (a `system` block); the others contribute nothing.
 */
export function virtualAccuracyPoints(methods: readonly MethodResult[]) {
  return methods.flatMap((m) =>
    m.rows.flatMap((r) => {
      const s = r.evaluation?.['personalized'];
      return s && r.virtual ? [{ group: m.label, seed: 0, virtualSeconds: r.virtual.endSeconds, accuracy: 100 * s.pooledAccuracy }] : [];
    }),
  );
}

function methodStyle(labels: readonly string[]) {
  const { color, shape } = styleScales(labels);
  return { color: { field: 'method', type: 'nominal', scale: color }, shape: { field: 'method', type: 'nominal', scale: shape } } as const;
}

const axes = {
  x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1, format: 'd' } },
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
  const labels = methods.map((m) => m.label);
  const virtual = virtualAccuracyPoints(methods);
  const written: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(outDir, name), text);
    written.push(join(outDir, name));
  };
  await write(
    'comparison.md',
    `# ${title}\n\nCommand: \`${command}\`\n\nPooled test accuracy of each client's personalized model ` +
      `(all clients' test predictions pooled); "best" is over the evaluation rounds. "trained / untrained" ` +
      `splits the final per-client mean between clients that delivered at least one update and those never sampled.\n\n` +
      `${markdownTable(methods)}\n\n` +
      `![accuracy vs round](accuracy.svg)\n` +
      (virtual.length ? `\n![accuracy vs virtual time](accuracy-vs-virtual-time.svg)\n\n![dropped clients per round](dropped.svg)\n` : ''),
  );
  await write('comparison.csv', `${csvTable(methods)}\n`);
  await write(
    'accuracy.svg',
    await renderSvg({
      title: `${title}: personalized accuracy`,
      width: 640,
      height: 360,
      data: { values: points.filter((p) => p.view === 'personalized') },
      mark: { type: 'line', point: true },
      // the sweep report's palette: distinct colour + marker per method, also beyond 10 methods
      encoding: { ...axes, ...methodStyle(labels) },
    }),
  );
  if (virtual.length) {
    await write('accuracy-vs-virtual-time.svg', await renderSvg(virtualAccuracySpec(virtual, labels)));
    const drops = methods.flatMap((m) => roundDropPoints(m.label, 0, m.rows));
    await write('dropped.svg', await renderSvg(droppedSpec(drops, labels)));
  }
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
