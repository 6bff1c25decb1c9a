import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { EvalStats, EvalSummary, ExperimentConfig } from '@fedsim/runtime';
import { parseExperiment } from '@fedsim/runtime';
import { DROP_REASONS } from '@fedsim/fl/system';
import { droppedPoints, groupStats, meanStd, runStats, virtualCurvePoints } from '../src/report/aggregate.js';
import type { RunData } from '../src/report/collect.js';
import { loadReferenceTable } from '../src/report/reference.js';
import { PALETTE, SHAPES, styleScales } from '../src/report/plots.js';
import { virtualRows } from './virtual-fixtures.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const config = (algorithm: string, seed: number): ExperimentConfig =>
  parseExperiment({
    name: 'x',
    seed,
    data: { kind: 'fashion-mnist' },
    partition: { kind: 'dirichlet', numClients: 4, alpha: 0.1 },
    model: 'mlp',
    algorithm: { name: algorithm },
    rounds: 4,
  });
const stats = (pooled: number, std: number): EvalStats => ({ pooledAccuracy: pooled, pooledLoss: 1, mean: pooled, std, min: 0, max: 1, clients: 4, samples: 40 });
const evalAt = (round: number, pooled: number, clientStd: number): EvalSummary => ({
  round, results: { personalized: stats(pooled, clientStd) }, perClient: { '0': { personalized: pooled } }, failures: [],
});
const run = (algorithm: string, seed: number, best: number, final: number, clientStd: number): RunData => ({
  runId: `${algorithm}-${seed}`, group: algorithm, values: {}, config: config(algorithm, seed), rows: [], status: null,
  evals: [evalAt(2, best, 0.5), evalAt(4, final, clientStd)],
});

test('groups report mean ± std over seeds, the std over clients apart, and deltas against the reference table', async () => {
  assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: null, n: 1 });
  assert.equal(meanStd([]), null);

  const table = await loadReferenceTable(join(repo, 'configs/reference/fedobp-table.json'));
  const [fedobp, fedavg] = groupStats(
    [run('fedobp', 1, 0.96, 0.95, 0.1), run('fedobp', 2, 0.98, 0.97, 0.3), run('fedavg', 1, 0.8, 0.9, 0.2)],
    table,
  );
  assert.equal(fedobp!.runs, 2);
  // best of seed 1 is round 2's 96%, of seed 2 98%: mean 97, sample std √2
  assert.ok(Math.abs(fedobp!.best!.mean - 97) < 1e-9);
  assert.ok(Math.abs(fedobp!.best!.std! - Math.SQRT2) < 1e-9);
  assert.ok(Math.abs(fedobp!.final!.mean - 96) < 1e-9);
  // clients' spread is its own number (mean of 10% and 30%), not the seeds' spread
  assert.ok(Math.abs(fedobp!.clientStd! - 20) < 1e-9);
  // FMNIST α=0.1 FedOBP in the authors' table: 96.93
  assert.equal(fedobp!.reference?.accuracy, 96.93);
  assert.ok(Math.abs(fedobp!.reference!.delta! - (97 - 96.93)) < 1e-9);
  // best is over evaluations: the final 90% beats round 2's 80%
  assert.equal(fedavg!.best!.mean, 90);
  assert.equal(fedavg!.best!.std, null);
  assert.equal(fedavg!.reference?.accuracy, 88.06);
});

test('up to 15 groups get 15 different colours, and colour + marker pairs stay distinct well beyond', () => {
  const fifteen = styleScales(Array.from({ length: 15 }, (_, i) => `m${i}`));
  assert.equal(new Set(fifteen.color.range).size, 15);
  assert.equal(new Set(PALETTE.map((c) => c.toLowerCase())).size, PALETTE.length);
  const many = styleScales(Array.from({ length: 40 }, (_, i) => `m${i}`));
  const pairs = many.color.range.map((c, i) => `${c}/${many.shape.range[i]}`);
  assert.equal(new Set(pairs).size, 40);
  assert.ok(SHAPES.length >= 8);
});

test('virtual time: accuracy at the clock of each evaluated model, drops per round and reason; nothing without a system block', () => {
  const timed: RunData = {
    ...run('fedavg', 1, 0.6, 0.8, 0.1),
    evals: [evalAt(0, 0.1, 0), evalAt(2, 0.6, 0.1), evalAt(4, 0.8, 0.1)],
    rows: virtualRows(),
  };
  // θ^0 at 0 s; model round 2 after round 1 closed (20 s); model round 4 after round 3 (40 s)
  assert.deepEqual(virtualCurvePoints([timed]).map((p) => [p.virtualSeconds, Math.round(p.accuracy)]), [[0, 10], [20, 60], [40, 80]]);
  const drops = droppedPoints([timed]).filter((p) => p.clients > 0).map((p) => `${p.round}:${p.reason}:${p.clients}`);
  assert.deepEqual(drops, ['0:deadline:1', '0:overcommit:1', '2:offline:2']);
  // zeros are points too: a mean over seeds must count a seed that dropped nobody
  assert.equal(droppedPoints([timed]).length, 4 * DROP_REASONS.length);
  assert.equal(runStats(timed).virtualSeconds, 40);

  const plain = run('fedavg', 2, 0.6, 0.8, 0.1);
  assert.deepEqual(virtualCurvePoints([plain]), []);
  assert.deepEqual(droppedPoints([plain]), []);
  assert.equal(runStats(plain).virtualSeconds, null);
});
