import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '@fedsim/fl/compute/index';
import { createModel } from '@fedsim/fl/models/index';
await initCompute({ prefer: 'wasm' , log: () => {}});
const name = (process.argv[2] ?? 'fedavgcnn') as 'fedavgcnn';
const model = createModel(name);
const flat = model.init(1);
const vars = model.spec.tensors.map((t) => tf.variable(tf.tensor(flat.subarray(t.offset, t.offset + t.length), [...t.shape])));
const B = 32;
const x = tf.randomNormal([B, ...model.inputShape], 0, 1, 'float32', 2);
const y = tf.oneHot(tf.tensor1d(Array.from({length:B},(_, i)=>i%10),'int32'),10);
const opt = tf.train.sgd(0.01);
function step() { tf.tidy(() => { const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(vars, x)) as tf.Scalar, vars); opt.applyGradients(grads); }); }
for (let i=0;i<5;i++) step();
const rates: number[] = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now(); let n=0;
  while (performance.now()-t0 < 1000) { step(); n++; }
  await vars[0]!.data();
  rates.push(n*B/((performance.now()-t0)/1000));
}
rates.sort((a,b)=>a-b);
console.log(name, process.env.FEDSIM_WASM_KERNELS ?? 'fast', 'samples/s median', rates[2]!.toFixed(0), 'best', rates[4]!.toFixed(0));
if (process.env.PROF) {
const prof = await tf.profile(() => { for (let i = 0; i < 5; i++) step(); });
const agg = new Map<string, number>();
for (const k of prof.kernels) { const key = k.name + ' ' + JSON.stringify(k.inputShapes); agg.set(key, (agg.get(key) ?? 0) + (k.kernelTimeMs as number) / 5); }
let tot = 0; for (const v of agg.values()) tot += v;
console.log('total kernel ms/step', tot.toFixed(1));
console.log([...agg].sort((a,b)=>b[1]-a[1]).slice(0,25).map(([k,v])=>`${v.toFixed(2)}ms ${k}`).join('\n'));
}
