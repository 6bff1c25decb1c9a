import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keys, modelFor, parseExperiment, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { loadDataset } from '@fedsim/runtime/data';
import { decodeModel } from '@fedsim/runtime/engine';
import { createHandlers } from '@fedsim/runtime/wiring';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-fedprox-'));
after(() => rm(dir, { recursive: true, force: true }));

const experiment = (algorithm: Record<string, unknown>) =>
  parseExperiment({
    name: 'fedprox-engine',
    seed: 9,
    data: { kind: 'synthetic', numSamples: 360, featureShape: [10], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: 4, alpha: 0.5 },
    model: 'mlp',
    algorithm,
    rounds: 2,
    joinRatio: 0.5,
    train: { epochs: 2, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 2 },
  });

test('fedprox on the real engine: μ = 0 reproduces FedAvg bit for bit; a huge μ keeps θ_g near θ_g^0', async () => {
  const store = new LocalDirBlobStore(dir);
  const handlers = await createHandlers({ store: { kind: 'dir', root: dir }, backend: 'wasm' });
  const transport = new EmbeddedTransport({ handlers, concurrency: 1 });
  const run = async (runId: string, algorithm: Record<string, unknown>) =>
    (await runExperiment(experiment(algorithm), { runId, store, transport })).finalModelSha256;
  try {
    const fedavg = await run('avg', { name: 'fedavg' });
    assert.equal(await run('prox0', { name: 'fedprox', mu: 0 }), fedavg);
    assert.notEqual(await run('prox', { name: 'fedprox' }), fedavg, 'the default μ = 0.01 changes training');
    await run('prox20', { name: 'fedprox', mu: 20 });
  } finally {
    await transport.close();
  }
  const config = experiment({ name: 'fedavg' });
  const spec = modelFor(config, await loadDataset(config.data)).spec;
  const moved = async (runId: string) => {
    const [start, end] = await Promise.all([0, 2].map(async (t) => decodeModel(await store.get(keys.global(runId, t)), spec)));
    return Math.hypot(...end!.map((v, i) => v - start![i]!));
  };
  const free = await moved('avg');
  const tied = await moved('prox20');
  // lr·μ = 1: every local step pulls θ back to θ_g, so rounds barely move the global model.
  assert.ok(tied < free / 5, `μ=20 moved θ_g by ${tied}, FedAvg by ${free}`);
});

test('fedprox options are validated with the config', () => {
  assert.throws(() => experiment({ name: 'fedprox', mu: -0.1 }), /algorithm\.mu/);
  assert.throws(() => experiment({ name: 'fedprox', lambda: 1 }), /options of algorithm 'fedprox'/);
  assert.equal(experiment({ name: 'fedprox' }).algorithm['mu'], 0.01);
});
