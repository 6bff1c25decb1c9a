import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { weightedMeanAggregator } from '../../src/algorithms/base.js';
import { fiarse, fiarseOptionsSchema } from '../../src/algorithms/fiarse/fiarse.js';
import { tcbMasked, tcbTrainHooks } from '../../src/algorithms/fiarse/tcb-gd.js';
import { MagnitudeIndex, keepCount, thresholdMask } from '../../src/algorithms/fiarse/threshold.js';
import type { AlgorithmEnv, AlgorithmHooks, FitInput, Instruction } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { selectAll } from '../../src/params/spec.js';
import { trainLocal } from '../../src/train/index.js';
import '../../src/train/gradients.js';
import { Rng } from '../../src/util/rng.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const spec = model.spec;
const dataset = syntheticDataset({ seed: 2, numSamples: 160, numClasses: 3, featureShape: [8] });
const dataOf = (from: number, n: number) => clientData(dataset, Array.from({ length: n }, (_, i) => from + i));
const sgd = { lr: 0.1, momentum: 0, weightDecay: 0 };
const env = (numClients: number, s = sgd): AlgorithmEnv => ({
  model,
  numClients,
  seed: 1,
  train: { sgd: s, batchSize: 16, epochs: 1, iterations: 8 },
  finetune: { epochs: 1, sgd: s },
});
const hooksOf = (numClients: number, options: unknown = {}, s = sgd): AlgorithmHooks =>
  fiarse.create(env(numClients, s), fiarseOptionsSchema.parse(options));

function fitInput(hooks: AlgorithmHooks, clientId: number, global: Float32Array, round = 0): FitInput {
  const r = hooks.instruct!({ clientId, round, global, state: undefined });
  // Through JSON, as the engine stores it: thresholds must survive exactly.
  const instruction = JSON.parse(JSON.stringify(r.instruction)) as Instruction;
  return { clientId, round, global, start: global, state: undefined, instruction, train: dataOf(clientId * 40, 40), seed: 11 + clientId };
}

function randomVector(n: number, seed: number, quantum?: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    v[i] = quantum ? Math.round(x / quantum) * quantum : x;
  }
  return v;
}

test('options: defaults follow the spec; unknown fields and bad values are refused', () => {
  const o = fiarseOptionsSchema.parse({});
  assert.equal(o.threshold, 'global');
  assert.equal(o.serverLr, 1);
  assert.equal(o.routeByCapacity, false);
  assert.deepEqual(o.capacities.map((c) => c.beta), [1, 1 / 4, 1 / 16, 1 / 64]);
  assert.deepEqual(o.evalSizes, [1 / 256, 1 / 128, 1 / 32, 1 / 2]);
  for (const bad of [{ threshold: 'tensor' }, { serverLr: 0 }, { lr: -1 }, { momentum: 1 }, { mask: true }, { evalSizes: [2] }]) {
    assert.equal(fiarseOptionsSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('threshold: θ_thr is the k-th largest |w| over all maskable elements (k = ⌊β·n⌋)', () => {
  const params = randomVector(spec.size, 3);
  const index = new MagnitudeIndex(spec, params, 'global');
  const desc = Array.from(params, Math.abs).sort((a, b) => b - a);
  for (const beta of [0.5, 0.25, 1 / 64, 0.3]) {
    const k = keepCount(beta, spec.size);
    assert.equal(k, Math.floor(beta * spec.size));
    const th = index.thresholds(beta);
    assert.ok(th.every((t) => t === desc[k - 1]), `β = ${beta}: one global threshold, the k-th largest`);
    const kept = thresholdMask(spec, params, th).reduce((s, x) => s + x, 0);
    assert.equal(kept, k, 'distinct magnitudes: exactly k kept');
  }
  assert.ok(index.thresholds(1).every((t) => t === 0), 'β = 1 keeps everything');
  assert.equal(keepCount(0.29, 100), 29, 'β·n just under an integer is not floored away');
  assert.equal(keepCount(1e-9, 100), 1, 'at least one element');
});

test('masks are nested across β (global and per-layer thresholds, ties included)', () => {
  // Quantised values: many exact ties in |w|, the case where a careless rule breaks nesting.
  const params = randomVector(spec.size, 4, 0.05);
  const betas = [1, 0.9, 0.5, 0.3, 0.25, 1 / 16, 1 / 64, 1 / 256, 1 / 4096];
  for (const mode of ['global', 'layer'] as const) {
    const index = new MagnitudeIndex(spec, params, mode);
    const masks = betas.map((b) => thresholdMask(spec, params, index.thresholds(b)));
    for (let j = 1; j < masks.length; j++) {
      const big = masks[j - 1]!;
      const small = masks[j]!;
      for (let e = 0; e < spec.size; e++) {
        if (small[e] === 1 && big[e] !== 1) assert.fail(`${mode}: element ${e} is in the β=${betas[j]} mask but not in β=${betas[j - 1]}`);
      }
      const count = small.reduce((s, x) => s + x, 0);
      assert.ok(count >= keepCount(betas[j]!, spec.size) * (mode === 'global' ? 1 : 0), `${mode}: at least k kept (ties kept)`);
    }
  }
});

test('per-layer thresholds keep about β of every layer; the global one does not', () => {
  // Scale one layer up so a global threshold takes nearly everything from it.
  const params = randomVector(spec.size, 5);
  const fc1 = spec.tensors.find((t) => t.name === 'fc1.weight')!;
  for (let j = fc1.offset; j < fc1.offset + fc1.length; j++) params[j]! *= 10;
  const beta = 0.25;
  const fractionOf = (mode: 'global' | 'layer', layer: string) => {
    const keep = thresholdMask(spec, params, new MagnitudeIndex(spec, params, mode).thresholds(beta));
    const ts = spec.tensors.filter((t) => t.layer === layer);
    const n = ts.reduce((s, t) => s + t.length, 0);
    const kept = ts.reduce((s, t) => s + keep.subarray(t.offset, t.offset + t.length).reduce((a, x) => a + x, 0), 0);
    return kept / n;
  };
  for (const layer of ['fc1', 'fc2', 'classifier']) {
    const f = fractionOf('layer', layer);
    assert.ok(Math.abs(f - beta) < 0.01, `${layer}: ${f}`);
  }
  assert.ok(fractionOf('global', 'fc1') > 0.8 && fractionOf('global', 'fc2') < 0.23, 'the global threshold takes most of the scaled layer');
});

/** L(e) = Σ a·e + ½ (Σ b·e)², in tf (float32) and in float64. */
function lossTf(e: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.add(tf.sum(tf.mul(a, e)), tf.mul(0.5, tf.square(tf.sum(tf.mul(b, e))))) as tf.Scalar;
}
function loss64(e: readonly number[], a: readonly number[], b: readonly number[]): number {
  let s = 0;
  let t = 0;
  e.forEach((x, i) => {
    s += a[i]! * x;
    t += b[i]! * x;
  });
  return s + 0.5 * t * t;
}

test('TCB-GD: the custom gradient matches finite differences of the surrogate', () => {
  const theta = 0.5;
  // Away from the kink |w| = θ and from 0 by much more than the FD step.
  const w0 = [0.9, -0.7, 0.2, -0.3, 1.5, -1.2, 0.55, 0.05];
  const a = [0.3, -1.1, 0.7, 2.0, -0.4, 0.9, 1.3, -0.8];
  const b = [1.0, 0.5, -0.6, 0.2, 0.8, -1.4, 0.3, 0.9];
  const shape = [2, 4];
  const hOf = (s: number) => (s - theta) / (s + theta);
  const m0 = w0.map((w) => (Math.abs(w) >= theta ? 1 : 0));
  const surrogate = (w: readonly number[]) => w.map((x, i) => m0[i]! * x * (1 + hOf(Math.abs(x)) - hOf(Math.abs(w0[i]!))));
  // The surrogate has the forward value at w0.
  surrogate(w0).forEach((e, i) => assert.ok(Math.abs(e - w0[i]! * m0[i]!) < 1e-12));

  const [grad, value] = tf.tidy(() => {
    const at = tf.tensor(w0, shape);
    const ta = tf.tensor(a, shape);
    const tb = tf.tensor(b, shape);
    const g = tf.grad((w: tf.Tensor) => lossTf(tcbMasked(w, theta), ta, tb))(at);
    return [g.dataSync(), lossTf(tcbMasked(at, theta), ta, tb).dataSync()[0]!];
  });
  assert.ok(Math.abs(value - loss64(surrogate(w0), a, b)) < 1e-5, 'forward value = surrogate value');

  const h = 1e-6;
  for (let i = 0; i < w0.length; i++) {
    const plus = [...w0];
    const minus = [...w0];
    plus[i]! += h;
    minus[i]! -= h;
    const fd = (loss64(surrogate(plus), a, b) - loss64(surrogate(minus), a, b)) / (2 * h);
    assert.ok(Math.abs(grad[i]! - fd) <= 1e-4 * (1 + Math.abs(fd)), `element ${i}: custom ${grad[i]}, finite difference ${fd}`);
    if (m0[i] === 0) assert.ok(grad[i] === 0, `masked element ${i} gets exactly 0, got ${grad[i]}`);
  }
  // The factor matters: for a kept weight the gradient is not the straight-through one.
  const plainGrad = (() => {
    const e = w0.map((x, i) => x * m0[i]!);
    const t = b.reduce((s, bi, i) => s + bi * e[i]!, 0);
    return a.map((ai, i) => m0[i]! * (ai + t * b[i]!));
  })();
  assert.ok(Math.abs(grad[0]! - plainGrad[0]!) > 0.05, 'TCB-GD factor is applied');
});

test('TCB-GD with θ = 0 is the identity (β = 1: plain gradients)', () => {
  const w = tf.tensor([0, 1, -2]);
  assert.equal(tcbMasked(w, 0), w);
  w.dispose();
  assert.throws(() => tcbMasked(tf.scalar(1), Number.NaN), /θ must be a finite number/);
});

test('masked weights get exactly zero update (TCB-GD training, no clean-up)', async () => {
  const global = model.init(7);
  const th = new MagnitudeIndex(spec, global, 'global').thresholds(0.25);
  const before = tf.memory().numTensors;
  const r = await trainLocal(model, global, dataOf(0, 80), { sgd, batchSize: 16, epochs: 2, seed: 3 }, tcbTrainHooks(th));
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  let masked = 0;
  let keptChanged = 0;
  for (const t of spec.tensors) {
    const theta = th[spec.tensors.indexOf(t)]!;
    for (let e = t.offset; e < t.offset + t.length; e++) {
      if (Math.abs(global[e]!) < theta) {
        masked++;
        assert.ok(Object.is(r.params[e], global[e]), `masked element ${e} moved: ${global[e]} → ${r.params[e]}`);
      } else if (r.params[e] !== global[e]) keptChanged++;
    }
  }
  assert.ok(masked > spec.size * 0.7, 'about 3/4 of the elements are masked');
  assert.ok(keptChanged > 0, 'kept elements are trained');
});

test('fit: masked elements have exactly zero delta even with momentum and weight decay', async () => {
  const heavy = { lr: 0.1, momentum: 0.9, weightDecay: 0.1 };
  const hooks = hooksOf(4, { capacities: [{ beta: 0.25, share: 1 }] }, heavy);
  const global = model.init(8);
  const input = fitInput(hooks, 1, global);
  const th = (input.instruction!.meta as { thresholds: number[] }).thresholds;
  const keep = thresholdMask(spec, global, th);
  const fit = await hooks.fit(input);
  // Without the clean-up, weight decay would have moved the masked elements:
  const raw = await trainLocal(model, global, input.train, { sgd: heavy, batchSize: 16, epochs: 1, iterations: 8, seed: input.seed }, tcbTrainHooks(th));
  let rawMoved = 0;
  for (let e = 0; e < spec.size; e++) {
    if (keep[e] === 1) continue;
    assert.ok(Object.is(global[e]! - fit.trained[e]!, 0), `element ${e} outside the submodel has a delta`);
    if (raw.params[e] !== global[e]) rawMoved++;
  }
  assert.ok(rawMoved > 0, 'weight decay does move masked elements inside the optimiser');
  assert.equal(fit.steps, 8);
});

test('β = 1 reduces to plain training and plain (unweighted, delta) averaging', async () => {
  const hooks = hooksOf(3, { capacities: [{ beta: 1, share: 1 }] });
  const global = model.init(9);
  const trained: Float32Array[] = [];
  const agg = hooks.createAggregator(global, 0);
  for (const clientId of [0, 1, 2]) {
    const input = fitInput(hooks, clientId, global);
    assert.ok((input.instruction!.meta as { thresholds: number[] }).thresholds.every((t) => t === 0));
    const fit = await hooks.fit(input);
    const plain = await trainLocal(model, global, input.train, { ...env(3).train, seed: input.seed });
    assert.deepEqual(fit.trained, plain.params, `client ${clientId}: β = 1 trains exactly the plain model`);
    trained.push(fit.trained);
    const delta = global.map((g, i) => g - fit.trained[i]!);
    agg.add({ clientId, numSamples: 10 * (clientId + 1), values: delta });
  }
  const next = agg.finish();
  const mean = weightedMeanAggregator(spec, selectAll, global, { weighted: false });
  trained.forEach((values, clientId) => mean.add({ clientId, numSamples: 1, values }));
  const expected = mean.finish();
  let maxErr = 0;
  let changedByAll = 0;
  for (let e = 0; e < spec.size; e++) {
    if (trained.every((t) => t[e] !== global[e])) {
      changedByAll++;
      maxErr = Math.max(maxErr, Math.abs(next[e]! - expected[e]!));
    }
  }
  assert.ok(changedByAll > spec.size / 2, 'most elements are changed by every client');
  assert.ok(maxErr < 1e-6, `θ − mean Δ = unweighted mean of the models (max error ${maxErr})`);
});

test('instruct: threshold, report and the capacity-routed pool', () => {
  const global = model.init(10);
  const hooks = hooksOf(8);
  assert.equal(hooks.poolOf, undefined, 'one default pool unless routeByCapacity');
  assert.deepEqual(hooks.trainState, []);
  assert.equal(hooks.upload, 'delta');
  const r = hooks.instruct!({ clientId: 2, round: 0, global, state: undefined });
  const meta = r.instruction!.meta as { beta: number; thresholds: number[] };
  assert.equal(meta.beta, 0.25);
  const desc = Array.from(global, Math.abs).sort((a, b) => b - a);
  assert.equal(meta.thresholds[0], desc[Math.floor(0.25 * spec.size) - 1]);
  const rep = r.report as Record<string, number>;
  assert.equal(rep['kept'], Math.floor(0.25 * spec.size));
  assert.equal(rep['fullBytes'], spec.size * 4);
  assert.equal(rep['submodelBytes'], rep['kept']! * 4 + Math.ceil(spec.size / 8));
  assert.ok(rep['submodelBytes']! < rep['fullBytes']! / 3);

  const routed = hooksOf(8, { routeByCapacity: true });
  assert.deepEqual(
    Array.from({ length: 8 }, (_, c) => routed.poolOf!(c)),
    ['beta-1', 'beta-1', 'beta-0_25', 'beta-0_25', 'beta-0_0625', 'beta-0_0625', 'beta-0_015625', 'beta-0_015625'],
  );
});

test('fit refuses a missing or inconsistent instruction', async () => {
  const hooks = hooksOf(8);
  const global = model.init(11);
  const input = fitInput(hooks, 3, global);
  await assert.rejects(hooks.fit({ ...input, instruction: undefined }), /client 3 .* has no instruction/);
  const wrongBeta = { meta: { ...input.instruction!.meta, beta: 1 }, arrays: {} };
  await assert.rejects(hooks.fit({ ...input, instruction: wrongBeta }), /β = 1 for client 3, its capacity is β = 0.25/);
  const short = { meta: { beta: 0.25, thresholds: [0.1] }, arrays: {} };
  await assert.rejects(hooks.fit({ ...input, instruction: short }), /1 thresholds, the model has 6 tensors/);
});

test('evaluate: own size, local_<own β>, every trained and extra size, and the full model', async () => {
  const hooks = hooksOf(8);
  const global = model.init(12);
  const test8 = dataOf(120, 40);
  const res = await hooks.evaluate({ clientId: 5, round: 1, global, state: undefined, train: dataOf(0, 8), test: test8, seed: 1 });
  assert.deepEqual(Object.keys(res).sort(), [
    'global',
    'local_0.0625',
    'personalized',
    'size_0.00390625',
    'size_0.0078125',
    'size_0.015625',
    'size_0.03125',
    'size_0.0625',
    'size_0.25',
    'size_0.5',
    'size_1',
  ]);
  assert.deepEqual(res.personalized, res['local_0.0625']);
  assert.deepEqual(res.personalized, res['size_0.0625']);
  assert.deepEqual(res['global'], res['size_1']);
  assert.equal(res.personalized.total, 40);
  assert.notDeepEqual(res['size_1'], res['size_0.00390625'], 'different sizes are different models');
});

/** the engine's dense sizes: submodel algorithms charge their own bytes instead */
const DENSE = { model: 1e9, update: 1e9, instruction: () => 1e9 };

test('transferBytes (virtual time) is the submodel the instruction will report, known before the weights', () => {
  for (const threshold of ['global', 'layer'] as const) {
    const hooks = hooksOf(8, { threshold });
    const global = model.init(10);
    for (let c = 0; c < 8; c++) {
      const report = hooks.instruct!({ clientId: c, round: 0, global, state: undefined }).report as { submodelBytes: number; fullBytes: number };
      assert.deepEqual(hooks.transferBytes!(c, DENSE), { download: report.submodelBytes, upload: report.submodelBytes }, `${threshold} client ${c}`);
    }
    // The default capacities' smallest class moves far less than the dense model.
    assert.ok(hooks.transferBytes!(7, DENSE).upload < hooks.transferBytes!(0, DENSE).upload / 8);
  }
});
