import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EvalStats, RoundRow, RunSummary } from '@fedsim/runtime';
import { countByCode } from '@fedsim/runtime';
import { loadComparison } from '../src/compare/comparison-file.js';
import type { MethodResult } from '../src/compare/report.js';
import { csvTable, markdownTable, virtualAccuracyPoints, writeComparisonReport } from '../src/compare/report.js';
import { virtualRows } from './virtual-fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-compare-'));
after(() => rm(dir, { recursive: true, force: true }));

const stats = (acc: number): EvalStats => ({ pooledAccuracy: acc, pooledLoss: 1, mean: acc, std: 0.1, min: 0, max: 1, clients: 4, samples: 100 });
const row = (round: number, evaluation?: Record<string, EvalStats>): RoundRow => ({
  round, clients: 2, sampled: [0, 1], succeeded: 2, failed: 0, failures: [], trainLoss: 0.5, wallSeconds: 10, trainSeconds: 15,
  aggregateSeconds: 0.1, uploadBytes: 1, downloadBytes: 1, backends: ['wasm'], prepareReports: {},
  ...(evaluation ? { evaluation } : {}),
});
const method = (label: string, best: number, extra: Record<string, EvalStats> = {}): MethodResult => {
  const results = { personalized: stats(best), ...extra };
  const summary: RunSummary = {
    runId: label, experiment: 'x', algorithm: label, rounds: 2, finalModelKey: 'k', finalModelSha256: 'h',
    bestPersonalized: { round: 2, accuracy: best }, final: { round: 2, results }, failures: countByCode([]),
  };
  return { label, summary, rows: [row(0, { personalized: stats(best / 2) }), row(1, results)] };
};

test('the table ranks methods by best personalised accuracy and shows fine-tuning before → after', async () => {
  const ft = method('fedavg-ft', 0.9, { before: stats(0.7), after: stats(0.9) });
  const methods = [method('fedavg', 0.7), ft, method('local', 0.5)];
  const md = markdownTable(methods);
  const order = ['fedavg-ft', 'fedavg', 'local'].map((m) => md.indexOf(`| ${m} |`));
  assert.deepEqual([...order].sort((a, b) => a - b), order, md);
  assert.match(md, /\| fedavg-ft \| 2 \| 90\.00 \| 2 \| 90\.00 \| 90\.00 ± 10\.00 \| {2}\| 70\.00 → 90\.00 \|/);
  const csv = csvTable(methods).split('\n');
  assert.equal(csv.length, 4);
  assert.equal(csv[0]!.split(',').length, csv[1]!.split(',').length);

  const written = await writeComparisonReport(join(dir, 'out'), 'demo', methods, 'npm run fedsim -- compare x');
  assert.deepEqual(written.map((p) => p.split('/').at(-1)).sort(), ['accuracy.svg', 'comparison.csv', 'comparison.md', 'fedavg-ft.svg', 'fedavg.svg', 'local.svg']);
  const svg = await readFile(join(dir, 'out', 'accuracy.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  for (const m of ['fedavg', 'fedavg-ft', 'local']) assert.ok(svg.includes(`>${m}<`), `legend names ${m}`);
});

test('a comparison file runs the base once per method with per-method and global overrides', async () => {
  await writeFile(join(dir, 'base.yaml'), `name: base\ndata: { kind: synthetic, numSamples: 100, featureShape: [4], numClasses: 2 }\npartition: { kind: iid, numClients: 4 }\nmodel: mlp\nalgorithm: { name: fedavg }\nrounds: 5\n`);
  await writeFile(join(dir, 'cmp.yaml'), `name: c\nbase: base.yaml\nmethods:\n  - algorithm: { name: fedavg }\n  - label: prox\n    algorithm: { name: fedprox, mu: 0.5 }\n    set: ["eval.every=2"]\n`);
  const plan = await loadComparison(join(dir, 'cmp.yaml'), ['rounds=3']);
  assert.deepEqual(plan.runs.map((r) => [r.label, r.runId, r.config.algorithm, r.config.rounds, r.config.eval.every]), [
    ['fedavg', 'c-fedavg', { name: 'fedavg' }, 3, 100],
    ['prox', 'c-prox', { name: 'fedprox', mu: 0.5 }, 3, 2],
  ]);
  await writeFile(join(dir, 'dup.yaml'), `name: d\nbase: base.yaml\nmethods:\n  - algorithm: { name: fedavg }\n  - algorithm: { name: fedavg }\n`);
  await assert.rejects(loadComparison(join(dir, 'dup.yaml'), []), /two methods are labelled 'fedavg'/);
  await writeFile(join(dir, 'bad.yaml'), `name: b\nbase: base.yaml\nmethods:\n  - algorithm: { name: fedprox, mu: -1 }\n`);
  await assert.rejects(loadComparison(join(dir, 'bad.yaml'), []), /algorithm\.mu/);
});

test('methods run in virtual time get accuracy vs virtual time and dropped clients per round; others do not', async () => {
  const timed = (label: string, accs: number[]): MethodResult => ({
    ...method(label, Math.max(...accs)),
    // evaluated after rounds 1 and 3, when the clock reads 20 s and 40 s
    rows: virtualRows((r) => (r % 2 === 1 ? { personalized: stats(accs[(r - 1) / 2]!) } : undefined)),
  });
  const methods = [timed('wait', [0.5, 0.7]), timed('cutoff', [0.6, 0.65]), method('plain', 0.4)];
  assert.deepEqual(
    virtualAccuracyPoints(methods).map((p) => `${p.group}@${p.virtualSeconds}=${Math.round(p.accuracy)}`),
    ['wait@20=50', 'wait@40=70', 'cutoff@20=60', 'cutoff@40=65'],
  );
  const out = join(dir, 'virtual');
  const written = (await writeComparisonReport(out, 'vt', methods, 'cmd')).map((p) => p.split('/').at(-1));
  assert.ok(written.includes('accuracy-vs-virtual-time.svg') && written.includes('dropped.svg'), written.join(', '));
  const md = await readFile(join(out, 'comparison.md'), 'utf8');
  assert.match(md, /!\[accuracy vs virtual time\]\(accuracy-vs-virtual-time\.svg\)/);
  const svg = await readFile(join(out, 'accuracy-vs-virtual-time.svg'), 'utf8');
  assert.match(svg, />virtual time \(s\)</);
  for (const m of ['wait', 'cutoff']) assert.ok(svg.includes(`>${m}<`), `legend names ${m}`);
  const dropped = await readFile(join(out, 'dropped.svg'), 'utf8');
  for (const reason of ['deadline', 'offline', 'overcommit']) assert.ok(dropped.includes(`>${reason}<`), `legend names ${reason}`);
});
