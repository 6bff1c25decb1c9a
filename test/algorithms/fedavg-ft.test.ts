import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseExperiment, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { createHandlers } from '@fedsim/runtime/wiring';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-fedavg-ft-'));
after(() => rm(dir, { recursive: true, force: true }));

const experiment = (name: string) =>
  parseExperiment({
    name: 'fedavg-ft-engine',
    seed: 4,
    data: { kind: 'synthetic', numSamples: 360, featureShape: [10], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: 4, alpha: 0.5 },
    model: 'mlp',
    algorithm: { name },
    rounds: 2,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    finetune: { epochs: 2 },
    eval: { every: 2 },
  });

test('fedavg-ft on the real engine: FedAvg training, θ_g reported before and after fine-tuning', async () => {
  const store = new LocalDirBlobStore(dir);
  const handlers = await createHandlers({ store: { kind: 'dir', root: dir }, backend: 'wasm' });
  const transport = new EmbeddedTransport({ handlers, concurrency: 1 });
  try {
    const avg = await runExperiment(experiment('fedavg'), { runId: 'avg', store, transport });
    const ft = await runExperiment(experiment('fedavg-ft'), { runId: 'ft', store, transport });
    assert.equal(ft.finalModelSha256, avg.finalModelSha256, 'training is FedAvg');
    const results = ft.final!.results;
    assert.deepEqual(Object.keys(results).sort(), ['after', 'before', 'global', 'personalized']);
    // θ_g before fine-tuning is exactly what FedAvg reports for θ_g.
    assert.deepEqual(results['before'], avg.final!.results['personalized']);
    assert.deepEqual(results['global'], results['before']);
    assert.deepEqual(results['personalized'], results['after']);
    assert.notEqual(results['after']!.pooledLoss, results['before']!.pooledLoss);
  } finally {
    await transport.close();
  }
});
