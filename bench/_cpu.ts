import { initCompute } from '@fedsim/fl/compute/index';
import { createModel } from '@fedsim/fl/models/index';
import { trainLocal } from '@fedsim/fl/train/index';
await initCompute({ log: () => {} });
const name = (process.argv[2] ?? 'mlp') as 'mlp';
const def = createModel(name);
const n = 320;
const size = def.inputShape.reduce((a, b) => a * b, 1);
const data = { x: new Float32Array(n * size).map(() => Math.random()), y: new Int32Array(n).map((_, i) => i % 10), n, featureShape: def.inputShape };
let params = def.init(1);
const steps = Number(process.argv[3] ?? '200');
const run = async () => { const r = await trainLocal(def, params, data, { sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0 }, batchSize: 32, epochs: 1, iterations: steps, seed: 1 }); params = r.params; };
await run();
for (let i = 0; i < 3; i++) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await run();
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  console.log(`${name}: cpu ms/step ${((c.user + c.system) / 1000 / steps).toFixed(3)} wall ms/step ${(wall / steps).toFixed(3)} → cpu-time samples/s ${(32 * steps / ((c.user + c.system) / 1e6)).toFixed(0)}`);
}
