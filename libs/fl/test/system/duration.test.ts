import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainingBatches } from '../../src/train/batches.js';
import { clientSeconds, localSamples } from '../../src/system/duration.js';
import { sampledProfile } from '../../src/system/profiles.js';
import { systemConfigSchema } from '../../src/system/config.js';

test('a client round is download + local samples / speed + upload', () => {
  const profile = { computeSamplesPerSecond: 100, downBytesPerSecond: 1000, upBytesPerSecond: 500 };
  // 4000/1000 + 300/100 + 1000/500 = 4 + 3 + 2
  assert.equal(clientSeconds(profile, { downloadBytes: 4000, uploadBytes: 1000, samples: 300 }), 9);
  // a smaller upload (a FedOBP patch, a FIARSE submodel) pays less
  assert.equal(clientSeconds(profile, { downloadBytes: 4000, uploadBytes: 250, samples: 300 }), 7.5);
});

test('localSamples counts exactly what trainingBatches yields', () => {
  for (const n of [1, 2, 7, 32, 33, 65, 100]) {
    for (const batchSize of [1, 8, 32]) {
      for (const dropLast of [undefined, true, false]) {
        for (const plan of [{ epochs: 3 }, { epochs: 1, iterations: 5 }, { epochs: 1, iterations: 17 }]) {
          const full = { n, batchSize, seed: 1, dropLast, ...plan };
          let expected = 0;
          for (const b of trainingBatches(full)) expected += b.length;
          assert.equal(localSamples(n, { batchSize, dropLast, ...plan }), expected, JSON.stringify(full));
        }
      }
    }
  }
});

test('sampled profiles are per-client streams: seeded, in range, independent of the client count', () => {
  const dists = {
    computeSamplesPerSecond: { kind: 'uniform' as const, min: 10, max: 20 },
    downBytesPerSecond: { kind: 'lognormal' as const, median: 1e6, sigma: 0.5 },
    upBytesPerSecond: { kind: 'fixed' as const, value: 2e5 },
  };
  const a = sampledProfile(dists, 9, 3);
  assert.deepEqual(sampledProfile(dists, 9, 3), a);
  assert.notDeepEqual(sampledProfile(dists, 9, 4), a);
  assert.ok(a.computeSamplesPerSecond >= 10 && a.computeSamplesPerSecond < 20);
  assert.equal(a.upBytesPerSecond, 2e5);
  assert.ok(a.downBytesPerSecond > 0);
});

test('the system config names its bad fields', () => {
  const bad = systemConfigSchema.safeParse({
    devices: {
      kind: 'sampled',
      computeSamplesPerSecond: { kind: 'uniform', min: 5, max: 1 },
      downBytesPerSecond: { kind: 'fixed', value: 1 },
      upBytesPerSecond: { kind: 'fixed', value: 1 },
    },
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /min must be ≤ max/);
  const buff = systemConfigSchema.safeParse({
    devices: { kind: 'trace', file: 't.json' },
    mode: { kind: 'fedbuff', concurrency: 2, bufferSize: 3, maxStaleness: 1 },
  });
  assert.equal(buff.success, false);
  assert.match(JSON.stringify(buff.error?.issues), /bufferSize must be ≤ concurrency/);
  const ok = systemConfigSchema.parse({ devices: { kind: 'trace', file: 't.json' } });
  assert.deepEqual(ok.mode, { kind: 'sync', overcommit: 1 });
  assert.deepEqual(ok.availability, { kind: 'always' });
});
