/**
 * Where one training step's time goes: tf.profile over trainLocal, per kernel and input shapes,
 * best of 5 profiled runs (the least disturbed by other processes), plus the step's CPU time.
 *   FEDSIM_BACKEND=wasm-blas node --conditions=fedsim-source --import tsx bench/profile-step.ts fedavgcnn [steps] [batch]
 * TOP=<n> limits the listing (default 20).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '@fedsim/fl/compute';
import { computeOptionsFromEnv } from './lib/compute-env.js';
import { createModel, type ModelName } from '@fedsim/fl/models';
import { trainLocal } from '@fedsim/fl/train';

await initCompute({ ...computeOptionsFromEnv(process.env), log: (m) => console.log(`# ${m}`) });
const name = (process.argv[2] ?? 'fedavgcnn') as ModelName;
const steps = Number(process.argv[3] ?? '10');
const batch = Number(process.argv[4] ?? '32');
const def = createModel(name);
const n = steps * batch;
const size = def.inputShape.reduce((a, b) => a * b, 1);
const data = {
  x: new Float32Array(n * size).map((_, i) => Math.sin(i)),
  y: new Int32Array(n).map((_, i) => i % def.numClasses),
  n,
  featureShape: def.inputShape,
};
let params = def.init(1);
const run = async () => {
  const r = await trainLocal(def, params, data, { sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0 }, batchSize: batch, epochs: 1, iterations: steps, seed: 1 });
  params = r.params;
};
await run();
const c0 = process.cpuUsage();
const t0 = performance.now();
await run();
const cpu = process.cpuUsage(c0);
const wall = (performance.now() - t0) / steps;

const best = new Map<string, { ms: number; n: number }>();
for (let rep = 0; rep < 5; rep++) {
  const prof = await tf.profile(run);
  const cur = new Map<string, { ms: number[]; n: number }>();
  for (const k of prof.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const e = cur.get(key) ?? { ms: [], n: 0 };
    e.ms.push(k.kernelTimeMs as number);
    e.n += 1 / steps;
    cur.set(key, e);
  }
  for (const [key, e] of cur) {
    e.ms.sort((a, b) => a - b);
    const perStep = e.ms[Math.floor(e.ms.length / 2)]! * e.n;
    const old = best.get(key);
    if (!old || perStep < old.ms) best.set(key, { ms: perStep, n: e.n });
  }
}
let total = 0;
let count = 0;
for (const v of best.values()) {
  total += v.ms;
  count += v.n;
}
console.log(`${name}: wall ${wall.toFixed(2)} ms/step, cpu ${((cpu.user + cpu.system) / 1000 / steps).toFixed(2)} ms/step; kernels ${total.toFixed(2)} ms/step over ${count.toFixed(0)} kernel calls`);
const top = Number(process.env['TOP'] ?? '20');
for (const [k, v] of [...best].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
  console.log(`${v.ms.toFixed(3).padStart(8)} ms  ×${v.n.toFixed(0)}  ${k}`);
}
