import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ExperimentConfig } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-robust-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function finalSha(config: ExperimentConfig, runId: string): Promise<{ sha: string; accuracy: number }> {
  const rt = await embeddedRuntime({ root: join(dir, runId), workers: 1, backend: 'wasm' });
  try {
    const summary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport });
    return { sha: summary.finalModelSha256, accuracy: summary.final?.results['personalized']?.pooledAccuracy ?? Number.NaN };
  } finally {
    await rt.close();
  }
}

test('the aggregation block reaches the engine: median and DP runs train, differ from FedAvg, and DP repeats exactly', async () => {
  const base = { rounds: 2, joinRatio: 1 };
  const plain = await finalSha(syntheticExperiment(base), 'plain');
  const median = await finalSha(syntheticExperiment({ ...base, aggregation: { robust: 'median' } }), 'median');
  const dpConfig = syntheticExperiment({ ...base, aggregation: { dp: { noiseMultiplier: 0.5, clipNorm: 5 } } });
  const dp1 = await finalSha(dpConfig, 'dp1');
  const dp2 = await finalSha(dpConfig, 'dp2');
  assert.notEqual(median.sha, plain.sha);
  assert.notEqual(dp1.sha, plain.sha);
  assert.equal(dp1.sha, dp2.sha, 'seeded DP noise: the same run gives the same model');
  assert.ok(median.accuracy > 0.34, `median still learns: ${median.accuracy}`);
});
