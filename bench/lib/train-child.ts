import { computeBackendName, initCompute } from '@fedsim/fl/compute';
import { computeOptionsFromEnv } from './compute-env.js';
import { createModel, type ModelName } from '@fedsim/fl/models';
import { trainLocal } from '@fedsim/fl/train';
import type { ClientData } from '@fedsim/fl/data';
import { Rng } from '@fedsim/fl/util';

export interface ChildResult {
  readonly backend: string;
  readonly model: ModelName;
  readonly batch: number;
  /** samples/s of every measured repetition */
  readonly runs: number[];
  readonly median: number;
  /** samples per second of this process's CPU time (all its threads), over all repetitions */
  readonly perCpuSecond: number;
}

function randomClient(featureShape: readonly number[], numClasses: number, n: number): ClientData {
  const rng = Rng.derive(1, 'bench', 'data');
  const size = featureShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * size);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(numClasses);
  return { x, y, n, featureShape: [...featureShape] };
}

/**
 * Training throughput of the project's own loop (trainLocal: forward, softmax cross-entropy,
 * backward, SGD with momentum) on random data, on the backend FEDSIM_BACKEND selects.
 */
export async function measureTraining(
  model: ModelName,
  batch: number,
  secondsPerRun: number,
  runs: number,
  beforeMeasure?: () => Promise<void>,
): Promise<ChildResult> {
  await initCompute({ ...computeOptionsFromEnv(process.env), log: (m) => console.error(`# ${m}`) });
  const def = createModel(model);
  const data = randomClient(def.inputShape, def.numClasses, 32 * batch);
  let params = def.init(1);
  const train = async (iterations: number) => {
    const t0 = performance.now();
    const r = await trainLocal(def, params, data, {
      // plain SGD, as the PyTorch reference trains
      sgd: { lr: 0.01, momentum: 0, weightDecay: 0 },
      batchSize: batch,
      epochs: 1,
      iterations,
      seed: 1,
    });
    params = r.params;
    return (performance.now() - t0) / 1000;
  };
  // warm-up doubles as calibration: how many steps fill one run
  let steps = 2;
  let elapsed = await train(steps);
  while (elapsed < secondsPerRun / 4) {
    steps *= 2;
    elapsed = await train(steps);
  }
  steps = Math.max(2, Math.round((steps * secondsPerRun) / elapsed));
  await beforeMeasure?.();
  const rates: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < runs; r++) rates.push((steps * batch) / (await train(steps)));
  const cpu = process.cpuUsage(cpu0);
  const sorted = [...rates].sort((a, b) => a - b);
  const perCpuSecond = (runs * steps * batch) / ((cpu.user + cpu.system) / 1e6);
  return { backend: computeBackendName(), model, batch, runs: rates, median: sorted[Math.floor(sorted.length / 2)]!, perCpuSecond };
}
