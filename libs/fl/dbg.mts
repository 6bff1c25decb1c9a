import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from './src/compute/index.ts';
import { trainLocal, evaluate } from './src/train/index.ts';
import { createModel } from './src/models/index.ts';
import { fashionMnist } from './test/support/fashion-mnist.ts';
const backend = process.argv[2] ?? 'wasm';
console.log(await initCompute({ prefer: backend as 'wasm' }));
const data = fashionMnist('train', 0, Number(process.argv[4] ?? 1024));
const test = fashionMnist('t10k', 0, 1000);
const m = createModel((process.argv[3] ?? 'fedavgcnn') as 'mlp', { inputShape: [28, 28, 1] });
const p = m.init(42);
let t = performance.now();
console.log(await evaluate(m, p, test), 'eval ms', performance.now() - t);
const opts = { sgd: { lr: 0.01, momentum: 0.7, weightDecay: 0 }, batchSize: 32, epochs: 1, seed: 1 };
for (let rep = 0; rep < 2; rep++) {
  t = performance.now();
  const r = await trainLocal(m, p, data, opts);
  const dt = performance.now() - t;
  console.log('loss', r.loss, 'steps', r.steps, 'samples/s', (r.samplesSeen / dt) * 1000);
  t = performance.now();
  console.log(await evaluate(m, r.params, test), 'eval samples/s', 1000 / (performance.now() - t) * 1000, tf.memory().numTensors);
}
