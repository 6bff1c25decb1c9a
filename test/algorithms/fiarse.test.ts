import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { sampleClients } from '@fedsim/fl/algorithms';
import { MagnitudeIndex } from '@fedsim/fl/algorithms';
import { fiarseOptionsSchema } from '@fedsim/fl/algorithms';
import { createModel } from '@fedsim/fl/models';
import type { ExperimentConfig, FlowTransport, RoundRow, RunSummary } from '@fedsim/runtime';
import { keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import { decodeModel } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-fiarse-'));
after(() => rm(dir, { recursive: true, force: true }));

const NUM_CLIENTS = 8;
const config: ExperimentConfig = parseExperiment({
  name: 'fiarse-engine',
  seed: 5,
  data: { kind: 'synthetic', numSamples: 640, featureShape: [10], numClasses: 3 },
  partition: { kind: 'dirichlet', numClients: NUM_CLIENTS, alpha: 0.5 },
  model: 'mlp',
  algorithm: {
    name: 'fiarse',
    routeByCapacity: true,
    capacities: [
      { beta: 0.5, share: 0.5 },
      { beta: 0.25, share: 0.5, pool: 'small' },
    ],
  },
  rounds: 2,
  joinRatio: 0.5,
  train: { epochs: 1, iterations: 5, batchSize: 16, lr: 0.1, momentum: 0 },
  eval: { every: 2 },
});
const spec = createModel('mlp', { inputShape: [10], numClasses: 3 }).spec;
const betaOf = (c: number) => (c < NUM_CLIENTS / 2 ? 0.5 : 0.25);

interface Run {
  summary: RunSummary;
  rows: RoundRow[];
  trainPools: Map<string, string | undefined>;
  globals: Float32Array[];
}

async function run(runId: string): Promise<Run> {
  const rt = await embeddedRuntime({ root: join(dir, runId), workers: 1, backend: 'wasm' });
  const trainPools = new Map<string, string | undefined>();
  // Records where the coordinator routes each train job (the embedded queue serves every pool).
  const transport: FlowTransport = {
    runFlow(flow) {
      for (const c of flow.children) if (c.kind === 'train') trainPools.set(`${flow.flowId}/${c.id}`, c.pool);
      return rt.transport.runFlow(flow);
    },
    check: () => rt.transport.check(),
    close: () => rt.transport.close(),
  };
  const rows: RoundRow[] = [];
  try {
    const summary = await runExperiment(config, { runId, store: rt.store, transport, observer: { onRound: (r) => void rows.push(r) } });
    const globals = await Promise.all([0, 1, 2].map(async (t) => decodeModel(await rt.store.get(keys.global(runId, t)), spec)));
    return { summary, rows, trainPools, globals };
  } finally {
    await rt.close();
  }
}

const first = await run('a');

test('fiarse on the real engine: train jobs are routed to their capacity class pool', () => {
  assert.equal(first.trainPools.size, 2 * 4);
  for (const [key, pool] of first.trainPools) {
    const client = Number(key.split('/').at(-1));
    assert.equal(pool, betaOf(client) === 0.5 ? 'beta-0_5' : 'small', key);
  }
});

test('fiarse on the real engine: elements outside every sampled submodel keep their value', () => {
  const [g0, g1] = first.globals as [Float32Array, Float32Array];
  const clients = sampleClients(config.seed, 0, NUM_CLIENTS, 4);
  const widest = Math.max(...clients.map(betaOf));
  const theta = new MagnitudeIndex(spec, g0, 'global').thresholds(widest)[0]!;
  let outside = 0;
  let changedInside = 0;
  for (let e = 0; e < g0.length; e++) {
    if (Math.abs(g0[e]!) < theta) {
      outside++;
      assert.ok(Object.is(g1[e], g0[e]), `element ${e} (|w| below θ_thr = ${theta}) changed`);
    } else if (g1[e] !== g0[e]) changedInside++;
  }
  assert.ok(outside >= g0.length * (1 - widest) - 1, 'the masked fraction is at least 1 − β');
  assert.ok(changedInside > 0.5 * (g0.length - outside), 'the submodel was trained');
});

test('fiarse on the real engine: prepare reports, and evaluation at every size', () => {
  // Row t carries what the server prepared for round t's clients (round 0's by the coordinator).
  for (const [t, row] of first.rows.entries()) {
    const reports = row.prepareReports as Record<string, Record<string, number | string>>;
    const clients = sampleClients(config.seed, t, NUM_CLIENTS, 4);
    assert.deepEqual(Object.keys(reports).map(Number).sort((a, b) => a - b), clients, `round ${t}`);
    for (const c of clients) {
      const r = reports[String(c)]!;
      assert.equal(r['beta'], betaOf(c));
      assert.equal(r['kept'], Math.floor(betaOf(c) * spec.size));
      assert.equal(r['pool'], betaOf(c) === 0.5 ? 'beta-0_5' : 'small');
      assert.ok((r['submodelBytes'] as number) < (r['fullBytes'] as number));
    }
  }
  const results = first.summary.final!.results;
  assert.deepEqual(Object.keys(results).sort(), [
    'global',
    'local_0.25',
    'local_0.5',
    'personalized',
    'size_0.00390625',
    'size_0.0078125',
    'size_0.03125',
    'size_0.25',
    'size_0.5',
  ]);
  assert.equal(results['personalized']!.clients, NUM_CLIENTS);
  assert.equal(results['local_0.5']!.clients, NUM_CLIENTS / 2, 'local_<β> pools the clients of capacity β only');
  assert.equal(results['local_0.25']!.clients, NUM_CLIENTS / 2);
  assert.equal(results['size_0.25']!.clients, NUM_CLIENTS, 'size_<β> pools every client');
  assert.equal(results['size_0.25']!.samples, results['global']!.samples);
});

test('fiarse on the real engine: a rerun reproduces the final model bytes', async () => {
  const again = await run('b');
  assert.equal(again.summary.finalModelSha256, first.summary.finalModelSha256);
});

test('the fiarse configs parse, and the smoke config runs with the spec defaults', async () => {
  const dirUrl = new URL('../../configs/', import.meta.url);
  const names = (await readdir(dirUrl)).filter((n) => /^fiarse-.*\.yaml$/.test(n));
  for (const want of ['fiarse-smoke.yaml', 'fiarse-fmnist.yaml', 'fiarse-five-sizes-fmnist.yaml']) assert.ok(names.includes(want), want);
  for (const name of names) {
    const cfg = parseExperiment(parseYaml(await readFile(new URL(name, dirUrl), 'utf8')), name);
    assert.equal(cfg.algorithm.name, 'fiarse', name);
    if (name !== 'fiarse-smoke.yaml') {
      assert.deepEqual([cfg.train.iterations, cfg.train.batchSize, cfg.train.lr, cfg.train.momentum], [100, 20, 0.1, 0], name);
    }
  }
  const smoke = parseExperiment(parseYaml(await readFile(new URL('fiarse-smoke.yaml', dirUrl), 'utf8')));
  const { name: _n, ...options } = smoke.algorithm;
  assert.deepEqual(options, fiarseOptionsSchema.parse({}));
});
