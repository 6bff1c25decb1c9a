import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '@fedsim/fl/compute/index';
import { createModel } from '@fedsim/fl/models/index';
import { trainLocal } from '@fedsim/fl/train/index';
await initCompute({ log: () => {} });
const name = (process.argv[2] ?? 'fedavgcnn') as 'fedavgcnn';
const def = createModel(name);
const n = 320;
const size = def.inputShape.reduce((a, b) => a * b, 1);
const x = new Float32Array(n * size).map(() => Math.random());
const y = new Int32Array(n).map((_, i) => i % 10);
const data = { x, y, n, featureShape: def.inputShape };
let params = def.init(1);
const steps = Number(process.argv[3] ?? '10');
const run = async () => { const r = await trainLocal(def, params, data, { sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0 }, batchSize: 32, epochs: 1, iterations: steps, seed: 1 }); params = r.params; };
await run();
const t0 = performance.now(); await run(); const wall = (performance.now() - t0) / steps;
const agg = new Map<string, { ms: number; n: number }>();
for (let rep = 0; rep < 5; rep++) {
const prof = await tf.profile(run);
const cur = new Map<string, { ms: number[]; n: number }>();
for (const k of prof.kernels) { const key = k.name + ' ' + JSON.stringify(k.inputShapes); const e = cur.get(key) ?? { ms: [], n: 0 }; e.ms.push(k.kernelTimeMs as number); e.n += 1 / steps; cur.set(key, e); }
for (const [key, e] of cur) { e.ms.sort((a, b) => a - b); const per = e.ms[Math.floor(e.ms.length / 2)]! * e.n; const old = agg.get(key); if (!old || per < old.ms) agg.set(key, { ms: per, n: e.n }); }
}
let tot = 0; let cnt = 0; for (const v of agg.values()) { tot += v.ms; cnt += v.n; }
console.log(`wall ms/step ${wall.toFixed(2)}; kernel ms/step ${tot.toFixed(2)}; kernels/step ${cnt.toFixed(0)}`);
console.log([...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 20)).map(([k, v]) => `${v.ms.toFixed(3)}ms x${v.n.toFixed(0)} ${k}`).join('\n'));
