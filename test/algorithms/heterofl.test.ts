import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { sampleClients } from '@fedsim/fl/algorithms';
import { widthMask } from '@fedsim/fl/algorithms';
import { heteroflOptionsSchema } from '@fedsim/fl/algorithms';
import { createModel } from '@fedsim/fl/models';
import type { RoundRow } from '@fedsim/runtime';
import { keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import { decodeModel } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-heterofl-'));
after(() => rm(dir, { recursive: true, force: true }));

const NUM_CLIENTS = 8;

test('heterofl on the real engine: only the sampled slices move, evaluation at every size', async () => {
  const config = parseExperiment({
    name: 'heterofl-engine',
    seed: 9,
    data: { kind: 'synthetic', numSamples: 640, featureShape: [10], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: NUM_CLIENTS, alpha: 0.5 },
    model: 'mlp',
    algorithm: {
      name: 'heterofl',
      capacities: [
        { beta: 0.5, share: 0.5 },
        { beta: 0.25, share: 0.5 },
      ],
      lr: 0.1,
      momentum: 0,
      iterations: 5,
    },
    rounds: 2,
    joinRatio: 0.5,
    train: { epochs: 3, batchSize: 16, lr: 0.01, momentum: 0.7 },
    eval: { every: 2 },
  });
  const spec = createModel('mlp', { inputShape: [10], numClasses: 3 }).spec;
  const betaOf = (c: number) => (c < NUM_CLIENTS / 2 ? 0.5 : 0.25);
  const runId = 'h';
  const rt = await embeddedRuntime({ root: join(dir, runId), workers: 1, backend: 'wasm' });
  const rows: RoundRow[] = [];
  let globals: Float32Array[];
  let summary;
  try {
    summary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    globals = await Promise.all([0, 1].map(async (t) => decodeModel(await rt.store.get(keys.global(runId, t)), spec)));
  } finally {
    await rt.close();
  }
  const [g0, g1] = globals as [Float32Array, Float32Array];
  const clients = sampleClients(config.seed, 0, NUM_CLIENTS, 4);
  const widest = widthMask(spec, Math.max(...clients.map(betaOf)));
  let inside = 0;
  let changed = 0;
  for (let e = 0; e < g0.length; e++) {
    if (widest[e] === 0) assert.ok(Object.is(g1[e], g0[e]), `element ${e} is in no sampled slice but changed`);
    else {
      inside++;
      if (g1[e] !== g0[e]) changed++;
    }
  }
  assert.ok(changed > inside / 2, 'the slices were trained');
  assert.deepEqual(rows.map((r) => r.failed), [0, 0]);

  const results = summary.final!.results;
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
  assert.equal(results['local_0.25']!.clients, NUM_CLIENTS / 2);
  assert.equal(results['personalized']!.clients, NUM_CLIENTS);
});

test('the heterofl configs parse, and the smoke config runs with the spec defaults', async () => {
  const dirUrl = new URL('../../configs/', import.meta.url);
  const names = (await readdir(dirUrl)).filter((n) => /^heterofl-.*\.yaml$/.test(n));
  for (const want of ['heterofl-smoke.yaml', 'heterofl-fmnist.yaml', 'heterofl-five-sizes-fmnist.yaml']) assert.ok(names.includes(want), want);
  for (const name of names) {
    const cfg = parseExperiment(parseYaml(await readFile(new URL(name, dirUrl), 'utf8')), name);
    assert.equal(cfg.algorithm.name, 'heterofl', name);
    if (name !== 'heterofl-smoke.yaml') {
      assert.deepEqual([cfg.train.iterations, cfg.train.batchSize, cfg.train.lr, cfg.train.momentum], [100, 20, 0.1, 0], name);
      assert.equal(cfg.algorithm['width'], 'sqrtBeta', `${name}: parameter-matched to FIARSE's sizes`);
    }
  }
  const smoke = parseExperiment(parseYaml(await readFile(new URL('heterofl-smoke.yaml', dirUrl), 'utf8')));
  const { name: _n, ...options } = smoke.algorithm;
  assert.deepEqual(options, heteroflOptionsSchema.parse({}));
});
