import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { ClientData } from '../../src/data/types.js';
import { createModel } from '../../src/models/index.js';
import type { ModelDef } from '../../src/models/types.js';
import { epochOrder, trainLocal, trainingBatches } from '../../src/train/index.js';
import type { LocalTrainOptions, TrainHooks } from '../../src/train/types.js';
import { Rng } from '../../src/util/rng.js';
import { useCpuBackend } from '../support/tf-cpu.js';
import { RefSgd, refFromFlat, refToFlat, type RefOptions } from './reference.js';

before(useCpuBackend);

function syntheticData(n: number, features: number, classes: number, seed: number): ClientData {
  const rng = new Rng(seed);
  const x = new Float32Array(n * features);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(classes);
    for (let f = 0; f < features; f++) x[i * features + f] = rng.normal() + (f % classes === y[i] ? 1.5 : 0);
  }
  return { x, y, n, featureShape: [features] };
}

function rowsOf(data: ClientData, indices: ArrayLike<number>): { xs: number[][]; ys: number[] } {
  const f = data.featureShape.reduce((a, b) => a * b, 1);
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    xs.push(Array.from(data.x.subarray(i * f, (i + 1) * f)));
    ys.push(data.y[i]!);
  }
  return { xs, ys };
}

function assertClose(actual: Float32Array, expected: Float64Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= tol * (1 + Math.abs(expected[i]!)), `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Runs trainLocal and the float64 reference over the same batches and compares them. */
async function compareWithReference(
  model: ModelDef,
  data: ClientData,
  opts: LocalTrainOptions,
  ref: RefOptions,
  hooks?: TrainHooks,
): Promise<void> {
  const [inF] = model.inputShape as [number];
  const start = model.init(11);
  const r = await trainLocal(model, start, data, opts, hooks);
  const m = refFromFlat(start, inF, model.numClasses);
  const sgd = new RefSgd(ref);
  let lossSum = 0;
  let steps = 0;
  let samples = 0;
  for (const batch of trainingBatches({ n: data.n, ...opts })) {
    const { xs, ys } = rowsOf(data, batch);
    lossSum += sgd.step(m, xs, ys);
    steps++;
    samples += batch.length;
  }
  assert.equal(r.steps, steps);
  assert.equal(r.samplesSeen, samples);
  assertClose(r.params, refToFlat(m), 2e-5, 'params');
  assert.ok(Math.abs(r.loss - lossSum / steps) < 1e-5, `loss ${r.loss} vs reference ${lossSum / steps}`);
}

const logreg = createModel('logreg', { inputShape: [4], numClasses: 3 });

test('batches: shuffled per epoch, a last batch of one sample skipped', () => {
  const all = [...trainingBatches({ n: 7, batchSize: 3, epochs: 2, seed: 5 })];
  assert.deepEqual(all.map((b) => b.length), [3, 3, 3, 3]);
  assert.deepEqual([...all[0]!, ...all[1]!], [...epochOrder(7, 5, 0)].slice(0, 6));
  assert.deepEqual([...all[2]!, ...all[3]!], [...epochOrder(7, 5, 1)].slice(0, 6));
  assert.notDeepEqual([...epochOrder(7, 5, 0)], [...epochOrder(7, 5, 1)]);
  assert.deepEqual([...epochOrder(7, 5, 0)].sort(), [0, 1, 2, 3, 4, 5, 6]);
  // a last batch of two is kept
  assert.deepEqual([...trainingBatches({ n: 8, batchSize: 3, epochs: 1, seed: 5 })].map((b) => b.length), [3, 3, 2]);
  // batch larger than the data: one batch of everything
  assert.deepEqual([...trainingBatches({ n: 4, batchSize: 32, epochs: 1, seed: 5 })].map((b) => b.length), [4]);
});

test('batches: iteration mode cycles over reshuffled epochs, agreeing with epoch mode', () => {
  const it = [...trainingBatches({ n: 5, batchSize: 2, epochs: 99, iterations: 5, seed: 3 })];
  assert.equal(it.length, 5);
  const ep = [...trainingBatches({ n: 5, batchSize: 2, epochs: 3, seed: 3 })];
  assert.deepEqual(it.map((b) => [...b]), ep.slice(0, 5).map((b) => [...b]));
  assert.equal([...trainingBatches({ n: 1, batchSize: 2, epochs: 1, iterations: 10, seed: 3 })].length, 0);
});

test('batches: dropLast true skips any short last batch, false keeps even a single sample', () => {
  const sizes = (n: number, dropLast: boolean | undefined) =>
    [...trainingBatches({ n, batchSize: 3, epochs: 1, seed: 5, dropLast })].map((b) => b.length);
  assert.deepEqual(sizes(8, undefined), [3, 3, 2]);
  assert.deepEqual(sizes(8, true), [3, 3], "PyTorch's drop_last=True");
  assert.deepEqual(sizes(8, false), [3, 3, 2]);
  assert.deepEqual(sizes(7, undefined), [3, 3]);
  assert.deepEqual(sizes(7, false), [3, 3, 1], "PyTorch's drop_last=False");
  assert.deepEqual(sizes(2, true), [], 'fewer samples than one batch: nothing to train on');
  // the kept batches are the same samples in the same order whatever the rule
  const kept = [...trainingBatches({ n: 8, batchSize: 3, epochs: 1, seed: 5, dropLast: true })].flatMap((b) => [...b]);
  assert.deepEqual(kept, [...epochOrder(8, 5, 0)].slice(0, 6));
  // iteration mode must end when no batch survives, and cycle over full batches otherwise
  assert.equal([...trainingBatches({ n: 2, batchSize: 3, epochs: 1, iterations: 10, seed: 3, dropLast: true })].length, 0);
  assert.equal([...trainingBatches({ n: 1, batchSize: 3, epochs: 1, iterations: 4, seed: 3, dropLast: false })].length, 4);
  const it = [...trainingBatches({ n: 7, batchSize: 3, epochs: 1, iterations: 5, seed: 3, dropLast: true })];
  assert.deepEqual(it.map((b) => b.length), [3, 3, 3, 3, 3]);
});

test('trainLocal sees only the batches dropLast leaves', async () => {
  const data = syntheticData(8, 4, 3, 2);
  const sgd = { lr: 0.1, momentum: 0, weightDecay: 0 };
  const run = (dropLast?: boolean) => trainLocal(logreg, logreg.init(1), data, { sgd, batchSize: 3, epochs: 2, seed: 4, ...(dropLast !== undefined ? { dropLast } : {}) });
  const [asToday, dropped] = [await run(), await run(true)];
  assert.deepEqual([asToday.steps, asToday.samplesSeen], [6, 16]);
  assert.deepEqual([dropped.steps, dropped.samplesSeen], [4, 12]);
  assert.notDeepEqual(dropped.params, asToday.params);
});

test('SGD with momentum and weight decay matches torch.optim.SGD maths step by step', async () => {
  const data = syntheticData(9, 4, 3, 1);
  const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
  await compareWithReference(logreg, data, { sgd, batchSize: 4, epochs: 2, seed: 9 }, sgd);
});

test('plain SGD (no momentum, no weight decay) over several steps', async () => {
  const data = syntheticData(6, 4, 3, 2);
  const sgd = { lr: 0.5, momentum: 0, weightDecay: 0 };
  await compareWithReference(logreg, data, { sgd, batchSize: 3, epochs: 1, iterations: 3, seed: 1 }, sgd);
});

test('lrScale scales each tensor’s step (momentum buffers unaffected)', async () => {
  const data = syntheticData(8, 4, 3, 3);
  const sgd = { lr: 0.2, momentum: 0.7, weightDecay: 0.05 };
  await compareWithReference(
    logreg,
    data,
    { sgd, batchSize: 4, epochs: 2, seed: 2 },
    { ...sgd, lrScale: { w: 1, b: 0.25 } },
    { lrScale: (t) => (t.kind === 'bias' ? 0.25 : 1) },
  );
});

test('extraLoss adds its gradient (FedProx μ/2‖θ − θ_g‖²)', async () => {
  const data = syntheticData(8, 4, 3, 4);
  const sgd = { lr: 0.1, momentum: 0.5, weightDecay: 0 };
  const anchorFlat = logreg.init(99);
  const mu = 0.3;
  const anchors = logreg.spec.tensors.map((t) =>
    tf.tensor(anchorFlat.slice(t.offset, t.offset + t.length), [...t.shape]),
  );
  try {
    await compareWithReference(
      logreg,
      data,
      { sgd, batchSize: 4, epochs: 2, seed: 4 },
      { ...sgd, prox: { mu, anchor: refFromFlat(anchorFlat, 4, 3) } },
      { extraLoss: (ps) => tf.mul(mu / 2, tf.addN(ps.map((p, i) => tf.sum(tf.square(tf.sub(p, anchors[i]!)))))) },
    );
  } finally {
    tf.dispose(anchors);
  }
});

test('effectiveParams: the forward uses the mapped weights and gradients flow through them', async () => {
  const data = syntheticData(8, 4, 3, 5);
  const sgd = { lr: 0.1, momentum: 0, weightDecay: 0 };
  await compareWithReference(
    logreg,
    data,
    { sgd, batchSize: 4, epochs: 2, seed: 5 },
    { ...sgd, effectiveWeightScale: 2 },
    { effectiveParams: (ps) => ps.map((p, i) => (i === 0 ? tf.mul(p, 2) : p)) },
  );
});

test('effectiveParams with a mask and custom gradient: masked entries stay exactly unchanged', async () => {
  const model = createModel('mlp', { inputShape: [6], numClasses: 3 });
  const data = syntheticData(20, 6, 3, 6);
  const start = model.init(3);
  // per tensor, keep the elements with |w| ≥ half the init bound; gradient ×2 on kept ones (FIARSE-like)
  const thresholds = model.spec.tensors.map((t) => 0.5 / Math.sqrt(t.fanIn));
  const masked = (p: tf.Tensor, threshold: number): tf.Tensor =>
    tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const keep = tf.cast(tf.greaterEqual(tf.abs(w), threshold), 'float32');
      save([keep]);
      return { value: tf.mul(w, keep), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(dy, saved[0]!), 2) };
    })(p);
  const r = await trainLocal(model, start, data, { sgd: { lr: 0.05, momentum: 0, weightDecay: 0 }, batchSize: 5, epochs: 3, seed: 1 }, {
    effectiveParams: (ps) => ps.map((p, i) => masked(p, thresholds[i]!)),
  });
  let kept = 0;
  let changed = 0;
  for (const [k, t] of model.spec.tensors.entries()) {
    for (let i = t.offset; i < t.offset + t.length; i++) {
      if (Math.abs(start[i]!) < thresholds[k]!) assert.equal(r.params[i], start[i], `masked element ${i} moved`);
      else {
        kept++;
        if (r.params[i] !== start[i]) changed++;
      }
    }
  }
  assert.ok(kept > 0 && changed > kept / 2, `only ${changed} of ${kept} kept elements were trained`);
});

test('lrScale 0 freezes the head bit-identically (even with weight decay and momentum)', async () => {
  const model = createModel('mlp', { inputShape: [10], numClasses: 4 });
  const data = syntheticData(40, 10, 4, 7);
  const start = model.init(5);
  const r = await trainLocal(model, start, data, { sgd: { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }, batchSize: 8, epochs: 2, seed: 3 }, {
    lrScale: (t) => (t.role === 'head' ? 0 : 1),
  });
  for (const t of model.spec.tensors) {
    const a = Buffer.from(start.buffer, t.offset * 4, t.length * 4);
    const b = Buffer.from(r.params.buffer, t.offset * 4, t.length * 4);
    if (t.role === 'head') assert.ok(a.equals(b), `${t.name} changed`);
    else assert.ok(!a.equals(b), `${t.name} did not train`);
  }
});

test('nothing trainable: parameters unchanged, loss still reported', async () => {
  const data = syntheticData(10, 4, 3, 8);
  const start = logreg.init(1);
  const r = await trainLocal(logreg, start, data, { sgd: { lr: 0.1, momentum: 0, weightDecay: 0 }, batchSize: 5, epochs: 1, seed: 1 }, {
    lrScale: () => 0,
  });
  assert.deepEqual(r.params, start);
  assert.equal(r.steps, 2);
  assert.ok(r.loss > 0);
});

test('a huge proximal μ keeps the parameters at the anchor; μ = 0 does not', async () => {
  const model = createModel('mlp', { inputShape: [10], numClasses: 4 });
  const data = syntheticData(64, 10, 4, 9);
  const anchor = model.init(2);
  const start = anchor.slice();
  for (let i = 0; i < start.length; i++) start[i]! += 0.05; // start away from the anchor
  const anchors = model.spec.tensors.map((t) => tf.tensor(anchor.slice(t.offset, t.offset + t.length), [...t.shape]));
  const distance = (p: Float32Array): number => Math.sqrt(p.reduce((s, v, i) => s + (v - anchor[i]!) ** 2, 0));
  const run = async (mu: number) =>
    trainLocal(model, start, data, { sgd: { lr: 0.05, momentum: 0, weightDecay: 0 }, batchSize: 16, epochs: 3, seed: 1 }, {
      extraLoss: (ps) => tf.mul(mu / 2, tf.addN(ps.map((p, i) => tf.sum(tf.square(tf.sub(p, anchors[i]!)))))),
    });
  try {
    const free = await run(0);
    const pulled = await run(19); // lr·μ ≈ 1: each step lands almost on the anchor
    const d0 = distance(start);
    assert.ok(distance(pulled.params) < 0.05 * d0, `μ=19: distance ${distance(pulled.params)} vs start ${d0}`);
    assert.ok(distance(free.params) > 0.5 * d0, `μ=0: distance ${distance(free.params)} vs start ${d0}`);
  } finally {
    tf.dispose(anchors);
  }
});

test('deterministic: same inputs give the same bytes; another seed another result', async () => {
  const model = createModel('mlp', { inputShape: [10], numClasses: 4 });
  const data = syntheticData(50, 10, 4, 10);
  const start = model.init(4);
  const before = start.slice();
  const opts = { sgd: { lr: 0.05, momentum: 0.7, weightDecay: 1e-4 }, batchSize: 8, epochs: 2, seed: 21 };
  const a = await trainLocal(model, start, data, opts);
  const b = await trainLocal(model, start, data, opts);
  const c = await trainLocal(model, start, data, { ...opts, seed: 22 });
  assert.ok(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer)));
  assert.equal(a.loss, b.loss);
  assert.ok(!Buffer.from(a.params.buffer).equals(Buffer.from(c.params.buffer)));
  assert.deepEqual(start, before, 'start was modified');
  assert.notEqual(a.params, start);
});

test('no tensors leak, also when a hook throws', async () => {
  const model = createModel('mlp', { inputShape: [10], numClasses: 4 });
  const data = syntheticData(30, 10, 4, 11);
  const start = model.init(4);
  const opts = { sgd: { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }, batchSize: 8, epochs: 2, seed: 1 };
  await trainLocal(model, start, data, opts); // warm-up (backend-internal one-time tensors)
  const before = tf.memory().numTensors;
  await trainLocal(model, start, data, opts, {
    lrScale: (t) => (t.role === 'head' ? 0 : 1),
    extraLoss: (ps) => tf.mul(0.01, tf.sum(tf.square(ps[0]!))),
    effectiveParams: (ps) => ps.map((p) => tf.mul(p, 1)),
  });
  assert.equal(tf.memory().numTensors, before, 'trainLocal leaked tensors');
  let calls = 0;
  await assert.rejects(
    trainLocal(model, start, data, opts, {
      extraLoss: (ps) => {
        if (++calls === 3) throw new Error('hook failed');
        return tf.sum(ps[0]!);
      },
    }),
    /hook failed/,
  );
  assert.equal(tf.memory().numTensors, before, 'trainLocal leaked tensors on error');
});

test('edge cases: no data, a single sample, zero epochs', async () => {
  const start = logreg.init(1);
  const opts = { sgd: { lr: 0.1, momentum: 0.9, weightDecay: 0 }, batchSize: 4, epochs: 3, seed: 1 };
  for (const n of [0, 1]) {
    const r = await trainLocal(logreg, start, syntheticData(n, 4, 3, 1), opts);
    assert.deepEqual([r.steps, r.samplesSeen, r.loss], [0, 0, 0]);
    assert.deepEqual(r.params, start);
  }
  const r = await trainLocal(logreg, start, syntheticData(10, 4, 3, 1), { ...opts, epochs: 0 });
  assert.equal(r.steps, 0);
});

test('bad input fails with a message naming the field', async () => {
  const start = logreg.init(1);
  const data = syntheticData(10, 4, 3, 1);
  const opts = { sgd: { lr: 0.1, momentum: 0, weightDecay: 0 }, batchSize: 4, epochs: 1, seed: 1 };
  await assert.rejects(trainLocal(logreg, start, data, { ...opts, batchSize: 0 }), /batchSize/);
  await assert.rejects(trainLocal(logreg, start, data, { ...opts, sgd: { ...opts.sgd, lr: Number.NaN } }), /lr/);
  await assert.rejects(trainLocal(logreg, start.subarray(1), data, opts), /start has 14 parameters/);
  await assert.rejects(trainLocal(logreg, start, { ...data, featureShape: [5] }, opts), /featureShape \[5\]/);
  const badLabels = { ...data, y: data.y.map((v, i) => (i === 3 ? 7 : v)) };
  await assert.rejects(trainLocal(logreg, start, badLabels, opts), /data\.y\[3\] = 7 is outside 0\.\.2/);
  await assert.rejects(trainLocal(logreg, start, data, opts, { lrScale: () => -1 }), /lrScale\('classifier.weight'\) returned -1/);
});

test('long training gives the event loop a turn (timers fire before it resolves)', async () => {
  const model = createModel('mlp');
  const data = syntheticData(1024, 784, 10, 12);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    // well over the 50 ms slice on any machine: 32 steps of a 784-200-200-10 MLP
    await trainLocal(model, model.init(1), data, { sgd: { lr: 0.01, momentum: 0, weightDecay: 0 }, batchSize: 32, epochs: 1, seed: 1 });
    assert.ok(ticks > 0, 'no timer ran during training');
  } finally {
    clearInterval(timer);
  }
});
