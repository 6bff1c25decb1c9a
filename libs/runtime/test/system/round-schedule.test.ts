import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Instruction } from '@fedsim/fl/algorithms';
import { createModel } from '@fedsim/fl/models';
import { LocalDirBlobStore } from '../../src/adapters/blob/local-dir.js';
import { parseExperiment } from '../../src/config/experiment.js';
import { encodeInstruction, encodeModel } from '../../src/engine/blobs.js';
import { roundSchedule } from '../../src/system/round-schedule.js';

const one = { kind: 'fixed', value: 1 };
// Every device moves 1 byte and processes 1 sample per virtual second, so a client's seconds
// are its bytes down + its samples + its bytes up.
const config = parseExperiment({
  name: 'sched',
  data: { kind: 'synthetic', numSamples: 200, featureShape: [4], numClasses: 2 },
  partition: { kind: 'iid', numClients: 4 },
  model: 'logreg',
  algorithm: { name: 'fedavg' },
  rounds: 1,
  joinRatio: 1,
  train: { epochs: 1, batchSize: 10 },
  system: { devices: { kind: 'sampled', computeSamplesPerSecond: one, downBytesPerSecond: one, upBytesPerSecond: one } },
});
const partition = { numClients: 4, clients: [10, 20, 30, 40].map((n) => ({ train: new Uint32Array(n), test: new Uint32Array(1) })) };
const spec = createModel('logreg', { inputShape: [4], numClasses: 2 }).spec;
const patch: Instruction = { meta: { round: 0 }, arrays: { indices: new Uint32Array(3), values: new Float32Array(3) } };

const schedule = async (algorithm: Parameters<typeof roundSchedule>[0]['algorithm']) =>
  roundSchedule({
    store: new LocalDirBlobStore(await mkdtemp(join(tmpdir(), 'fedsim-sched-'))),
    runId: 'r',
    config,
    partition,
    perRound: 4,
    modelSpec: spec,
    uploadSpec: spec,
    algorithm,
  });

test("the plan charges the algorithm's bytes (sized by the engine's own encoders) and its local work", async () => {
  const model = encodeModel(spec, new Float32Array(spec.size), { round: 0 }).byteLength;
  const update = encodeModel(spec, new Float32Array(spec.size), { round: 0, client: 0 }).byteLength;
  // no hooks: dense model down, dense update up, one epoch; the slowest client (40 samples) closes the round
  const dense = await schedule({});
  assert.equal(dense.plans![0]!.endSeconds, model + 40 + update);
  const own = await schedule({
    transferBytes: (_c, encoded) => ({ download: encoded.model + encoded.instruction(patch), upload: encoded.update }),
    localWorkSamples: (numTrain) => 3 * numTrain,
  });
  assert.equal(own.plans![0]!.endSeconds, model + encodeInstruction(patch).byteLength + 3 * 40 + update);
});
