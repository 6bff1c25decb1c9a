import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseExperiment } from '../../src/config/experiment.js';
import { readDeviceTrace } from '../../src/system/device-trace.js';
import { planSystemRounds } from '../../src/system/sync-plan.js';

const base = {
  name: 'sys',
  data: { kind: 'synthetic', numSamples: 200, featureShape: [4], numClasses: 2 },
  partition: { kind: 'iid', numClients: 4 },
  model: 'logreg',
  algorithm: { name: 'fedavg' },
  rounds: 2,
  joinRatio: 0.5,
  train: { epochs: 1, batchSize: 10 },
};
// Four clients with 10, 20, 30, 40 samples: one epoch processes all of them.
const partition = {
  numClients: 4,
  clients: [10, 20, 30, 40].map((n) => ({ train: new Uint32Array(n), test: new Uint32Array(1) })),
};

async function traceFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-trace-'));
  const file = join(dir, 'trace.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('a trace-driven deadline round: durations from samples, speeds and the real byte sizes', async () => {
  // All devices download 100 B at 100 B/s (1 s) and upload 50 B at 50 B/s (1 s); speeds differ.
  const device = (speed: number) => ({ computeSamplesPerSecond: speed, downBytesPerSecond: 100, upBytesPerSecond: 50 });
  const file = await traceFile({ devices: [device(10), device(5), device(30), device(4)] });
  const config = parseExperiment({
    ...base,
    system: { devices: { kind: 'trace', file }, mode: { kind: 'sync', overcommit: 2, deadlineSeconds: 5 } },
  });
  // Client seconds: 1 + 10/10 + 1 = 3; 1 + 20/5 + 1 = 6; 1 + 30/30 + 1 = 3; 1 + 40/4 + 1 = 12.
  const plans = await planSystemRounds({ ...config, system: config.system! }, partition, 2, () => ({ downloadBytes: 100, uploadBytes: 50 }));
  assert.equal(plans.length, 2);
  assert.deepEqual(plans[0]!.sampled, [0, 1, 2, 3]);
  assert.deepEqual(plans[0]!.kept, [0, 2]);
  assert.deepEqual(plans[0]!.dropped.map((d) => `${d.clientId}:${d.reason}`), ['1:deadline', '3:deadline']);
  assert.deepEqual([plans[0]!.endSeconds, plans[1]!.startSeconds, plans[1]!.endSeconds], [3, 3, 6]);
});

test('a plan whose round would train nobody fails before the run, saying what to raise', async () => {
  const slow = { kind: 'fixed', value: 1 };
  const config = parseExperiment({
    ...base,
    system: {
      devices: { kind: 'sampled', computeSamplesPerSecond: slow, downBytesPerSecond: slow, upBytesPerSecond: slow },
      mode: { kind: 'sync', deadlineSeconds: 1 },
    },
  });
  await assert.rejects(
    planSystemRounds({ ...config, system: config.system! }, partition, 2, () => ({ downloadBytes: 100, uploadBytes: 50 })),
    /round 0 would train no client \(none of its sampled clients finished in time.*raise system\.mode\.deadlineSeconds/,
  );
});

test('bad device traces name the file and the field', async () => {
  await assert.rejects(readDeviceTrace('/nonexistent/trace.json'), /system\.devices\.file: cannot read the device trace/);
  await assert.rejects(readDeviceTrace(await traceFile('{nope')), /is not JSON/);
  await assert.rejects(
    readDeviceTrace(await traceFile({ devices: [{ computeSamplesPerSecond: -1, downBytesPerSecond: 1, upBytesPerSecond: 1 }] })),
    /devices\.0\.computeSamplesPerSecond/,
  );
  await assert.rejects(
    readDeviceTrace(await traceFile({ devices: [{ computeSamplesPerSecond: 1, downBytesPerSecond: 1, upBytesPerSecond: 1, online: [[5, 2]] }] })),
    /devices\.0\.online: windows must be/,
  );
});
