import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GroupStats, MeanStd, RunStats } from './aggregate.js';
import { bytesPoints, clientPoints, curvePoints, droppedPoints, groupStats, runStats, virtualCurvePoints } from './aggregate.js';
import type { ReportInput } from './collect.js';
import type { ReferenceTable } from './reference.js';
import { accuracyCurveSpec, bytesSpec, clientDistributionSpec, droppedSpec, renderSvg, virtualAccuracySpec, wallTimeSpec } from './plots.js';

const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '' : x.toFixed(digits));
const meanStdText = (m: MeanStd | null) => (m === null ? '' : m.std === null ? `${num(m.mean)} (1 seed)` : `${num(m.mean)} ± ${num(m.std)}`);
const signed = (x: number | null | undefined) => (x === null || x === undefined ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);

export const GROUP_COLUMNS = [
  'group',
  'method',
  'seeds (finished / runs)',
  'best acc (%) mean ± std over seeds',
  'final acc (%) mean ± std over seeds',
  'final std over clients (%) mean over seeds',
  'reference best acc (%)',
  'Δ best vs reference (points)',
  'MB per round',
  'wall time (s) mean ± std over seeds',
] as const;

function groupRow(g: GroupStats): string[] {
  return [
    g.group,
    g.algorithm,
    `${g.finished} / ${g.runs}`,
    meanStdText(g.best),
    meanStdText(g.final),
    num(g.clientStd),
    num(g.reference?.accuracy),
    signed(g.reference?.delta),
    num(g.bytesPerRound === null ? null : g.bytesPerRound / 1e6, 3),
    meanStdText(g.wallSeconds),
  ];
}

export const RUN_COLUMNS = ['run', 'group', 'seed', 'state', 'rounds', 'best acc (%)', 'best at round', 'final acc (%)', 'final std over clients (%)', 'wall time (s)', 'final model sha256', 'virtual time (s)'] as const;

function runRow(r: RunStats): string[] {
  return [
    r.runId,
    r.group,
    String(r.seed),
    r.state,
    `${r.roundsDone}/${r.rounds}`,
    num(r.best?.accuracy),
    String(r.best?.round ?? ''),
    num(r.final),
    num(r.finalClientStd),
    num(r.wallSeconds, 1),
    r.finalModelSha256 ?? '',
    num(r.virtualSeconds, 1),
  ];
}

/** Machine-readable group table: numbers unformatted, one column per statistic. */
function groupsCsv(groups: readonly GroupStats[]): string {
  const header = ['group', 'method', 'runs', 'finished', 'best_mean', 'best_std_over_seeds', 'final_mean', 'final_std_over_seeds',
    'final_std_over_clients_mean', 'reference', 'delta_vs_reference', 'bytes_per_round', 'wall_seconds_mean', 'wall_seconds_std'];
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(Number(x.toFixed(6))));
  const rows = groups.map((g) => [g.group, g.algorithm, String(g.runs), String(g.finished), v(g.best?.mean), v(g.best?.std), v(g.final?.mean),
    v(g.final?.std), v(g.clientStd), v(g.reference?.accuracy), v(g.reference?.delta), v(g.bytesPerRound), v(g.wallSeconds?.mean), v(g.wallSeconds?.std)]);
  return csv([header, ...rows]);
}

function csv(rows: readonly (readonly string[])[]): string {
  const quote = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return `${rows.map((r) => r.map(quote).join(',')).join('\n')}\n`;
}

function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function htmlTable(id: string, columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

const STATS_NOTE =
  'Accuracy is the pooled test accuracy of each client\'s personalised model (all clients\' test predictions pooled). ' +
  '"Best" is the highest over the evaluated rounds, "final" the last evaluation. ' +
  '<b>std over seeds</b> is the sample standard deviation of a group\'s per-seed values (the spread you would see re-running with another seed); ' +
  '<b>std over clients</b> is the spread of clients\' own accuracies within one run, averaged over seeds — a different quantity, not an error bar.';

const CSS = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}figure{margin:1.5em 0}.note{color:#555;max-width:60em}`;

export interface WrittenReport {
  readonly dir: string;
  readonly files: readonly string[];
  readonly groups: readonly GroupStats[];
}

/** report.html (self-contained: inline CSS and SVG, no scripts, no network), report.md with SVG files, groups.csv, runs.csv. */
export async function writeReport(outDir: string, input: ReportInput, table: ReferenceTable | null, command: string): Promise<WrittenReport> {
  await mkdir(outDir, { recursive: true });
  const groups = groupStats(input.runs, table);
  const runs = input.runs.map(runStats);
  const names = groups.map((g) => g.group);
  // Runs planned in virtual time (a `system` block) add their clock and their dropped clients.
  const virtualPoints = virtualCurvePoints(input.runs);
  const drops = droppedPoints(input.runs);
  const plots: { id: string; caption: string; svg: string }[] = [
    { id: 'accuracy', caption: 'accuracy vs round', svg: await renderSvg(accuracyCurveSpec(curvePoints(input.runs), names)) },
    ...(virtualPoints.length
      ? [{ id: 'virtual-accuracy', caption: 'accuracy vs virtual time', svg: await renderSvg(virtualAccuracySpec(virtualPoints, names)) }]
      : []),
    ...(drops.length ? [{ id: 'dropped', caption: 'dropped clients per round by reason', svg: await renderSvg(droppedSpec(drops, names)) }] : []),
    { id: 'clients', caption: 'per-client accuracy', svg: await renderSvg(clientDistributionSpec(clientPoints(input.runs), names)) },
    { id: 'bytes', caption: 'communication per round', svg: await renderSvg(bytesSpec(bytesPoints(input.runs), names)) },
    {
      id: 'walltime',
      caption: 'wall time',
      svg: await renderSvg(wallTimeSpec(runs.map((r) => ({ group: r.group, seconds: r.wallSeconds })), names)),
    },
  ];
  const groupRows = groups.map(groupRow);
  const runRows = runs.map(runRow);
  const refLine = table ? `Reference: ${table.name} — ${table.metric}. ${table.source}. ${table.tolerance ?? ''}` : '';
  const missing = input.missing.length ? `Not started yet: ${input.missing.join(', ')}.` : '';
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(outDir, name), text);
    files.push(join(outDir, name));
  };
  for (const p of plots) await write(`${p.id}.svg`, p.svg);
  await write(
    'report.md',
    [
      `# ${input.title}`,
      `Command: \`${command}\``,
      STATS_NOTE.replace(/<\/?b>/g, '**'),
      ...(input.axisPaths.length ? [`Axes: ${input.axisPaths.join(', ')}; groups are all axes but \`seed\`.`] : []),
      ...(refLine ? [refLine] : []),
      '## Groups',
      markdownTable(GROUP_COLUMNS, groupRows),
      ...plots.map((p) => `![${p.caption}](${p.id}.svg)`),
      '## Runs',
      markdownTable(RUN_COLUMNS, runRows),
      ...(missing ? [missing] : []),
    ].join('\n\n') + '\n',
  );
  await write('groups.csv', groupsCsv(groups));
  await write('runs.csv', csv([RUN_COLUMNS, ...runRows]));
  await write(
    'report.html',
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p class="note">Command: <code>${escapeHtml(command)}</code></p>
<p class="note">${STATS_NOTE}</p>
${input.axisPaths.length ? `<p class="note">Axes: ${escapeHtml(input.axisPaths.join(', '))}; groups are all axes but <code>seed</code>.</p>` : ''}
${refLine ? `<p class="note">${escapeHtml(refLine)}</p>` : ''}
<h2>Groups</h2>
${htmlTable('groups', GROUP_COLUMNS, groupRows)}
${plots.map((p) => `<figure id="plot-${p.id}" data-plot="${p.id}">${p.svg}<figcaption>${escapeHtml(p.caption)}</figcaption></figure>`).join('\n')}
<h2>Runs</h2>
${htmlTable('runs', RUN_COLUMNS, runRows)}
${missing ? `<p class="note">${escapeHtml(missing)}</p>` : ''}
</body></html>
`,
  );
  return { dir: outDir, files, groups };
}
