import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dpNoiseStd } from '@fedsim/fl/aggregation';
import type { ExperimentConfig, RoundRow } from '@fedsim/runtime';
import { commitRecordSchema, CSV_HEADER, csvLine, keys, runExperiment } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-agg-report-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rowsOf(config: ExperimentConfig, runId: string) {
  const rt = await embeddedRuntime({ root: join(dir, runId), workers: 1, backend: 'wasm' });
  const rows: RoundRow[] = [];
  try {
    await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    const commit = commitRecordSchema.parse(JSON.parse(Buffer.from(await rt.store.get(keys.commit(runId, 0))).toString('utf8')));
    return { rows, commit };
  } finally {
    await rt.close();
  }
}

const cell = (row: RoundRow, column: string) => csvLine(row).split(',')[CSV_HEADER.indexOf(column)];

test('what a DP aggregation did (noise σ, clipped updates) is in the commit record, the rows and results.csv', async () => {
  const config = syntheticExperiment({ rounds: 2, joinRatio: 1, aggregation: { dp: { noiseMultiplier: 0.5, clipNorm: 0.05 } } });
  const { rows, commit } = await rowsOf(config, 'dp');
  const sigma = dpNoiseStd(config.aggregation, 6);
  assert.ok(sigma > 0);
  assert.equal(commit.aggregation?.['dpNoiseStd'], sigma);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.aggregation?.['dpNoiseStd'], sigma);
    // a clip this small clips every update of a first round
    assert.equal(typeof row.aggregation?.['clippedUpdates'], 'number');
    assert.equal(Number(cell(row, 'dp_noise_std')), Number(sigma.toFixed(9)));
    assert.equal(cell(row, 'clipped_updates'), String(row.aggregation?.['clippedUpdates']));
  }
  assert.equal(rows[0]!.aggregation?.['clippedUpdates'], 6);

  const plain = await rowsOf(syntheticExperiment({ rounds: 1, joinRatio: 1 }), 'plain');
  assert.equal(plain.commit.aggregation, undefined);
  assert.equal(cell(plain.rows[0]!, 'dp_noise_std'), '');
});
