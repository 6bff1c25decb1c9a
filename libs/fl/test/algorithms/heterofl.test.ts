import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { heterofl, heteroflOptionsSchema } from '../../src/algorithms/heterofl/heterofl.js';
import { keptChannels, widthMask, widthPlan } from '../../src/algorithms/heterofl/width-mask.js';
import type { AlgorithmEnv, AlgorithmHooks, FitInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { conv2dValid, dense, flatten, maxPool2 } from '../../src/models/layers.js';
import type { ModelDef } from '../../src/models/types.js';
import { trainLocal } from '../../src/train/index.js';
import { softmaxCrossEntropy } from '../../src/train/loss.js';
import '../../src/train/gradients.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const cnn = createModel('fedavgcnn', { inputShape: [28, 28, 1], numClasses: 10 });
const mlp = createModel('mlp', { inputShape: [8], numClasses: 3 });
const dataset = syntheticDataset({ seed: 2, numSamples: 160, numClasses: 3, featureShape: [8] });
const dataOf = (from: number, n: number) => clientData(dataset, Array.from({ length: n }, (_, i) => from + i));
const sgd = { lr: 0.1, momentum: 0, weightDecay: 0 };
const env = (numClients: number, s = sgd): AlgorithmEnv => ({
  model: mlp,
  numClients,
  seed: 1,
  train: { sgd: s, batchSize: 16, epochs: 1, iterations: 6 },
  finetune: { epochs: 1, sgd: s },
});
const hooksOf = (numClients: number, options: unknown = {}, s = sgd): AlgorithmHooks =>
  heterofl.create(env(numClients, s), heteroflOptionsSchema.parse(options));
const fitInput = (clientId: number, global: Float32Array): FitInput => ({
  clientId,
  round: 0,
  global,
  start: global,
  state: undefined,
  instruction: undefined,
  train: dataOf(clientId * 20, 40),
  seed: 3 + clientId,
});
const count = (m: Uint8Array) => m.reduce((s, x) => s + x, 0);

test('width plan: first ⌈β·c⌉ channels of every layer, classifier outputs never sliced', () => {
  assert.deepEqual(
    widthPlan(cnn.spec, 1 / 4).map((l) => [l.layer, l.kept]),
    [
      ['conv1', 8],
      ['conv2', 16],
      ['fc1', 128],
      ['classifier', 10],
    ],
  );
  assert.equal(keptChannels(1 / 64, 32), 1, '⌈0.5⌉');
  assert.equal(keptChannels(0.1, 30), 3, 'β·c a hair over an integer is not rounded up');
  assert.equal(keptChannels(1e-6, 10), 1, 'at least one channel');
});

test('width mask element counts match the sliced FedAvgCNN (hand-computed)', () => {
  // β = 1/4: conv1 5·5·1·8+8, conv2 5·5·8·16+16, fc1 (4·4·16)·128+128, classifier 128·10+10.
  assert.equal(count(widthMask(cnn.spec, 1 / 4)), 208 + 3216 + 32896 + 1290);
  // β = 1/64: 1, 1 and 8 channels.
  assert.equal(count(widthMask(cnn.spec, 1 / 64)), 26 + 26 + 136 + 90);
  assert.equal(count(widthMask(cnn.spec, 1)), cnn.spec.size);
  // mlp at 1/2: 8·100+100, 100·100+100, 100·3+3.
  assert.equal(count(widthMask(mlp.spec, 1 / 2)), 900 + 10100 + 303);
});

test('width: sqrtBeta slices ⌈√β·c⌉ channels (about β of the parameters)', async () => {
  assert.equal(heteroflOptionsSchema.parse({}).width, 'beta');
  const cnnEnv: AlgorithmEnv = { ...env(4), model: cnn };
  const hooks = heterofl.create(cnnEnv, heteroflOptionsSchema.parse({ width: 'sqrtBeta', capacities: [{ beta: 1 / 64, share: 1 }] }));
  // Client 0 (β = 1/64, width 1/8) holds conv1 4, conv2 8 and fc1 64 channels, which the
  // aggregator's holder count shows: Δ = 1 everywhere moves exactly the held elements.
  const agg = hooks.createAggregator(new Float32Array(cnn.spec.size), 0);
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array(cnn.spec.size).fill(1) });
  const held = agg.finish().reduce((s, x) => s + (x !== 0 ? 1 : 0), 0);
  assert.equal(held, 104 + 808 + 8256 + 650);
  assert.equal(count(widthMask(cnn.spec, Math.sqrt(1 / 4))), count(widthMask(cnn.spec, 1 / 2)));
});

test('width masks are nested across β', () => {
  const betas = [1, 0.7, 0.5, 0.25, 1 / 16, 1 / 64, 1 / 256];
  const masks = betas.map((b) => widthMask(cnn.spec, b));
  for (let j = 1; j < masks.length; j++) {
    const big = masks[j - 1]!;
    const small = masks[j]!;
    for (let e = 0; e < small.length; e++) {
      if (small[e] === 1 && big[e] !== 1) assert.fail(`element ${e} is in the β=${betas[j]} slice but not in β=${betas[j - 1]}`);
    }
  }
});

/** The kept values of each tensor, shaped as the sliced network's tensor (kept positions in order). */
function slicedTensors(model: ModelDef, params: Float32Array, keep: Uint8Array, beta: number): tf.Tensor[] {
  const plan = widthPlan(model.spec, beta);
  const keptOf = (layer: string) => plan.find((l) => l.layer === layer)!.kept;
  return model.spec.tensors.map((t) => {
    const values: number[] = [];
    for (let e = t.offset; e < t.offset + t.length; e++) if (keep[e] === 1) values.push(params[e]!);
    const li = plan.findIndex((l) => l.layer === t.layer);
    const out = keptOf(t.layer);
    if (t.kind === 'bias') return tf.tensor(values, [out]);
    if (t.shape.length === 4) return tf.tensor(values, [t.shape[0]!, t.shape[1]!, li === 0 ? t.shape[2]! : plan[li - 1]!.kept, out]);
    return tf.tensor(values, [values.length / out, out]);
  });
}

function cnnForward(p: readonly tf.Tensor[], x: tf.Tensor): tf.Tensor2D {
  const [c1w, c1b, c2w, c2b, f1w, f1b, clw, clb] = p as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const a1 = maxPool2(conv2dValid(x as tf.Tensor4D, c1w, c1b, true));
  const a2 = maxPool2(conv2dValid(a1, c2w, c2b, true));
  return dense(dense(flatten(a2), f1w, f1b, true), clw, clb, false);
}

test('masking is exact: the masked FedAvgCNN computes the sliced network, with the same gradients', () => {
  const beta = 1 / 4;
  const params = cnn.init(5);
  const keep = widthMask(cnn.spec, beta);
  const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 7);
  const labels = tf.tensor1d([4, 9], 'int32');
  const full = cnn.spec.tensors.map((t) => tf.tensor(params.slice(t.offset, t.offset + t.length), [...t.shape]));
  const masks = cnn.spec.tensors.map((t) => tf.tensor(Float32Array.from(keep.subarray(t.offset, t.offset + t.length)), [...t.shape]));
  const sliced = slicedTensors(cnn, params, keep, beta);
  try {
    const maskedLoss = (...ws: tf.Tensor[]) => softmaxCrossEntropy(cnn.forward(ws.map((w, i) => tf.mul(w, masks[i]!)), x), labels);
    const slicedLoss = (...ws: tf.Tensor[]) => softmaxCrossEntropy(cnnForward(ws, x), labels);
    const a = tf.tidy(() => cnn.forward(full.map((w, i) => tf.mul(w, masks[i]!)), x).dataSync());
    const b = tf.tidy(() => cnnForward(sliced, x).dataSync());
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `logit ${i}: masked ${a[i]}, sliced ${b[i]}`);

    const gMasked = tf.tidy(() => tf.grads(maskedLoss)(full).map((g) => g.dataSync()));
    const gSliced = tf.tidy(() => tf.grads(slicedLoss)(sliced).map((g) => g.dataSync()));
    cnn.spec.tensors.forEach((t, ti) => {
      const gm = gMasked[ti]!;
      const gs = gSliced[ti]!;
      let k = 0;
      for (let j = 0; j < t.length; j++) {
        if (keep[t.offset + j] === 1) {
          const want = gs[k++]!;
          assert.ok(Math.abs(gm[j]! - want) <= 1e-5 * (1 + Math.abs(want)), `${t.name}[${j}]: masked grad ${gm[j]}, sliced ${want}`);
        } else {
          assert.ok(gm[j] === 0, `${t.name}[${j}] is outside the slice but has gradient ${gm[j]}`);
        }
      }
      assert.equal(k, gs.length);
    });
  } finally {
    tf.dispose([x, labels, ...full, ...masks, ...sliced]);
  }
});

test('fit: zero delta outside the slice (even with weight decay), trained inside; β = 1 is plain training', async () => {
  const heavy = { lr: 0.1, momentum: 0.9, weightDecay: 0.1 };
  const hooks = hooksOf(4, { capacities: [{ beta: 1, share: 0.25 }, { beta: 0.25, share: 0.75 }] }, heavy);
  const global = mlp.init(6);
  const keep = widthMask(mlp.spec, 0.25);
  const before = tf.memory().numTensors;
  const fit = await hooks.fit(fitInput(2, global));
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  let inside = 0;
  for (let e = 0; e < global.length; e++) {
    if (keep[e] === 0) assert.ok(Object.is(global[e]! - fit.trained[e]!, 0), `element ${e} outside the slice moved`);
    else if (fit.trained[e] !== global[e]) inside++;
  }
  assert.ok(inside > count(keep) / 2, 'the slice is trained');

  const full = await hooks.fit(fitInput(0, global));
  const plain = await trainLocal(mlp, global, fitInput(0, global).train, { ...env(4, heavy).train, seed: 3 });
  assert.deepEqual(full.trained, plain.params, 'a β = 1 client trains the plain model');
});

test('aggregation averages each element over the clients whose slice holds it', () => {
  const hooks = hooksOf(2, { capacities: [{ beta: 1, share: 0.5 }, { beta: 0.5, share: 0.5 }] });
  const global = new Float32Array(mlp.spec.size).fill(1);
  const agg = hooks.createAggregator(global, 0);
  const small = widthMask(mlp.spec, 0.5);
  // Client 0 (β = 1) sends Δ = 1 everywhere; client 1 (β = 1/2) Δ = 3 on its slice.
  agg.add({ clientId: 0, numSamples: 7, values: new Float32Array(global.length).fill(1) });
  agg.add({ clientId: 1, numSamples: 1, values: Float32Array.from(small, (k) => 3 * k) });
  const next = agg.finish();
  for (let e = 0; e < next.length; e++) assert.equal(next[e], small[e] ? 1 - 2 : 1 - 1, `element ${e}`);
});

test('options, routing and evaluation names', async () => {
  assert.equal(heteroflOptionsSchema.safeParse({ threshold: 'layer' }).success, false, 'no FIARSE-only options');
  const hooks = hooksOf(8);
  assert.equal(hooks.poolOf, undefined);
  assert.equal(hooks.instruct, undefined);
  const routed = hooksOf(8, { routeByCapacity: true });
  assert.equal(routed.poolOf!(7), 'beta-0_015625');
  const global = mlp.init(8);
  const res = await hooks.evaluate({ clientId: 3, round: 1, global, state: undefined, train: dataOf(0, 4), test: dataOf(100, 30), seed: 1 });
  assert.ok('local_0.25' in res && 'size_0.5' in res && 'size_0.00390625' in res && 'global' in res);
  assert.deepEqual(res.personalized, res['size_0.25']);
  assert.deepEqual(res['global'], res['size_1']);
});

/** the engine's dense sizes: submodel algorithms charge their own bytes instead */
const DENSE = { model: 1e9, update: 1e9, instruction: () => 1e9 };

test('transferBytes (virtual time): a half-width client moves its slice and a position bitmap', () => {
  const hooks = hooksOf(2, { capacities: [{ beta: 1, share: 0.5 }, { beta: 0.5, share: 0.5 }] });
  const full = hooks.transferBytes!(0, DENSE);
  const half = hooks.transferBytes!(1, DENSE);
  // β = 1: every element (4 bytes each) plus the bitmap ⌈n/8⌉
  assert.equal(full.upload, mlp.spec.size * 4 + Math.ceil(mlp.spec.size / 8));
  assert.ok(half.upload < full.upload * 0.75 && half.upload > full.upload * 0.2, `${half.upload} of ${full.upload}`);
  assert.deepEqual(half, { download: half.upload, upload: half.upload });
});
