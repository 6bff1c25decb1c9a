import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunObserver } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime } from '@fedsim/runtime/wiring';
import { startRedis } from '../harness/index.js';
import type { RedisHandle } from '../harness/index.js';
import { syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing, workerEnv } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { runOnS3, startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * Every worker SIGKILLed mid-round: a fresh worker finds the jobs stalled (after BullMQ's lock
 * expiry, ~30 s), logs it, reruns them, and the run ends with the fault-free model.
 */

const LONG = process.env['FEDSIM_LONG_TESTS'] === '1';

let redis: RedisHandle;
let s3: S3BehindProxy;
let env: Record<string, string>;
const workers: WorkerProcess[] = [];
// Enough local epochs that the round's jobs are still running when the workers are killed,
// 500 ms into the round: about 3 s of training per round with the wasm SIMD kernels (40 epochs
// were done within 500 ms once training got faster, and no job was left to stall).
const config = syntheticExperiment({
  rounds: 2, train: { epochs: 240, batchSize: 16, lr: 0.05, momentum: 0.5 },
  failures: { attempts: 3, minSuccessFraction: 1, roundDeadlineSeconds: 600 },
});

before(async () => {
  if (!LONG) return;
  [redis, s3] = await Promise.all([startRedis(), startS3BehindProxy()]);
  env = workerEnv(redis, s3.env());
  workers.push(spawnWorker(env), spawnWorker(env));
  await waitUntilServing(workers);
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all([redis?.stop(), s3?.stop()]);
});

test('workers SIGKILLed mid-round: the stalled jobs are logged and rerun, same final model', {
  ...(LONG ? {} : { skip: 'set FEDSIM_LONG_TESTS=1 (waits ~30 s for stall detection)' }),
}, async () => {
  const reference = await runOnS3(config, { runId: 'reference', env: s3.env() });
  const rt = await distributedRuntime({ ...process.env, ...env });
  let replacement: WorkerProcess | undefined;
  const observer: RunObserver = {
    onRoundStart(round) {
      if (round !== 1) return;
      setTimeout(() => {
        for (const w of workers.splice(0)) w.child.kill('SIGKILL');
        replacement = spawnWorker(env);
        workers.push(replacement);
      }, 500);
    },
  };
  try {
    const summary = await runExperiment(config, { runId: 'killed', store: rt.store, transport: rt.transport, observer });
    assert.equal(summary.finalModelSha256, reference.finalModelSha256);
    assert.ok(replacement, 'the workers were killed during round 1');
    assert.match(replacement.output(), /job \S+ in \S+ stalled \(its worker stopped renewing the lock\); returned to the queue/);
  } finally {
    await rt.close();
  }
});
