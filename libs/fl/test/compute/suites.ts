import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../../src/models/index.js';
import type { ModelName } from '../../src/models/types.js';
import { compareWithCpu, randn } from './compare.js';

/**
 * Kernel checks shared by the wasm and wasm-blas test files: each runs on the active tfjs
 * backend (wasm, whichever kernel set initCompute registered) against the reference cpu backend.
 */

interface ConvCase {
  readonly name: string;
  readonly x: [number, number, number];
  readonly filter: [number, number, number, number];
  readonly stride: number;
  readonly pad: 'valid' | 'same';
  /** instead of the suite's batch sizes */
  readonly batches?: readonly number[];
}

const CONV_CASES: ConvCase[] = [
  { name: 'fedavgcnn conv1', x: [28, 28, 1], filter: [5, 5, 1, 32], stride: 1, pad: 'valid' },
  { name: 'fedavgcnn conv2', x: [12, 12, 32], filter: [5, 5, 32, 64], stride: 1, pad: 'valid' },
  // not used by the shipped models, but the kernels accept them, so they must be right too
  { name: 'same padding', x: [9, 9, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: 'stride 2 same', x: [9, 8, 3], filter: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { name: 'stride 2 valid', x: [11, 11, 2], filter: [5, 5, 2, 3], stride: 2, pad: 'valid' },
  // big per-image patch matrices: the native kernels split such a batch into chunks
  { name: 'chunked patches', x: [30, 30, 16], filter: [5, 5, 16, 8], stride: 1, pad: 'valid', batches: [20] },
];

/** Conv2D and both backprop kernels, for the models' layers and a few strided/padded layouts. */
export function convSuite(label: string, batches: readonly number[]): void {
  for (const c of CONV_CASES) {
    for (const b of c.batches ?? batches) {
      if (!c.name.startsWith('fedavgcnn') && !c.batches && b === 32) continue;
      test(`${label}: conv2d forward and both gradients match cpu: ${c.name}, batch ${b}`, async () => {
        const x = randn(1, [b, ...c.x]);
        const w = randn(2, c.filter);
        const outShape = tf.tidy(() => tf.conv2d(tf.zeros([b, ...c.x]) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad).shape);
        const dy = randn(3, outShape);
        const bias = randn(4, [c.filter[3]]);
        const problems = await compareWithCpu(`${c.name} b=${b}`, [x, w, dy, bias], (xt, wt, dyt, bt) => {
          const conv = (a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
          const fused = (activation: 'relu' | 'linear') => (a: tf.Tensor, f: tf.Tensor, bb: tf.Tensor) =>
            tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: bb, activation });
          return [
            conv(xt!, wt!),
            ...tf.grads(conv)([xt!, wt!], dyt),
            // FusedConv2D runs as one kernel at inference, and with a linear activation under a tape
            fused('relu')(xt!, wt!, bt!),
            ...tf.grads(fused('linear'))([xt!, wt!, bt!], dyt),
          ];
        });
        assert.deepEqual(problems, []);
      });
    }
  }
}

/** maxPool 2×2/2 and its gradient (including ties and overlapping windows). */
export function poolSuite(label: string, batches: readonly number[]): void {
  for (const [name, shape] of [['fedavgcnn pool1', [24, 24, 32]], ['fedavgcnn pool2', [8, 8, 64]], ['odd size', [7, 9, 3]]] as const) {
    for (const b of batches) {
      test(`${label}: maxPool 2×2/2 forward and gradient match cpu: ${name}, batch ${b}`, async () => {
        const x = randn(4, [b, ...shape]);
        const outShape = [b, Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), shape[2]];
        const dy = randn(5, outShape);
        const problems = await compareWithCpu(`${name} b=${b}`, [x, dy], (xt, dyt) => {
          const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
          return [f(xt!), tf.grad(f)(xt!, dyt)];
        });
        assert.deepEqual(problems, []);
      });
    }
  }

  test(`${label}: maxPool gradient with overlapping windows and same padding matches cpu`, async () => {
    const x = randn(6, [3, 7, 7, 4]);
    const dy = randn(7, [3, 4, 4, 4]);
    const problems = await compareWithCpu('pool 3x3/2 same', [x, dy], (xt, dyt) =>
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'))(xt!, dyt),
    );
    assert.deepEqual(problems, []);
  });

  test(`${label}: maxPool gradient routes ties to the first maximum of each window, as the cpu backend`, async () => {
    // after a ReLU many windows are all zeros: the choice must still match the reference
    const x = { data: new Float32Array([0, 0, 0, 0, 1, 1, 0, 1, 2, 2, 2, 2, -1, -1, -1, -1]), shape: [1, 4, 4, 1] };
    const dy = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 2, 1] };
    const problems = await compareWithCpu('pool ties', [x, dy], (xt, dyt) =>
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'))(xt!, dyt),
    );
    assert.deepEqual(problems, []);
  });

}

/** Dense layers (plain and fused matmul) and every transpose combination of batchMatMul. */
export function denseSuite(label: string, batches: readonly number[]): void {
  const DENSE: [string, number, number][] = [
    ['fedavgcnn fc1', 1024, 512],
    ['fedavgcnn classifier', 512, 10],
    ['mlp fc1', 784, 200],
    ['mlp fc2', 200, 200],
    ['mlp classifier', 200, 10],
  ];

  for (const [name, inF, outF] of DENSE) {
    for (const b of batches) {
      test(`${label}: dense forward and gradients match cpu: ${name}, batch ${b}`, async () => {
        const x = randn(8, [b, inF]);
        const w = randn(9, [inF, outF]);
        const bias = randn(10, [outF]);
        const dy = randn(11, [b, outF]);
        const problems = await compareWithCpu(`${name} b=${b}`, [x, w, bias, dy], (xt, wt, bt, dyt) => {
          const plain = (a: tf.Tensor, f: tf.Tensor) => tf.matMul(a as tf.Tensor2D, f as tf.Tensor2D);
          const fused = (a: tf.Tensor, f: tf.Tensor, bb: tf.Tensor) =>
            tf.fused.matMul({ a: a as tf.Tensor2D, b: f as tf.Tensor2D, bias: bb, activation: 'linear' });
          return [
            plain(xt!, wt!),
            ...tf.grads(plain)([xt!, wt!], dyt),
            fused(xt!, wt!, bt!),
            ...tf.grads(fused)([xt!, wt!, bt!], dyt),
          ];
        });
        assert.deepEqual(problems, []);
      });
    }
  }

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    test(`${label}: batchMatMul transposeA=${ta} transposeB=${tb} matches cpu, rank 2 and rank 3`, async () => {
      const [m, k, n] = [7, 33, 20];
      const a2 = randn(12, ta ? [k, m] : [m, k]);
      const b2 = randn(13, tb ? [n, k] : [k, n]);
      const a3 = randn(14, ta ? [3, k, m] : [3, m, k]);
      const b3 = randn(15, tb ? [3, n, k] : [3, k, n]);
      const big = randn(16, tb ? [300, k] : [k, 300]);
      const bias = randn(17, [n]);
      const problems = await compareWithCpu(`matmul ${ta}/${tb}`, [a2, b2, a3, b3, big, bias], (a, b, aa, bb, bg, bi) => [
        tf.matMul(a!, b!, ta, tb),
        tf.matMul(aa!, bb!, ta, tb),
        tf.matMul(a!, bg!, ta, tb),
        tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: bi, activation: 'relu' }),
      ]);
      assert.deepEqual(problems, []);
    });
  }

}

function lossGrads(name: ModelName, batch: number) {
  const model = createModel(name);
  const flat = model.init(7);
  const params = model.spec.tensors.map((t) => ({ data: flat.slice(t.offset, t.offset + t.length), shape: [...t.shape] }));
  const x = randn(30, [batch, ...model.inputShape]);
  const labels = new Float32Array(batch * model.numClasses);
  for (let i = 0; i < batch; i++) labels[i * model.numClasses + ((i * 7) % model.numClasses)] = 1;
  const y = { data: labels, shape: [batch, model.numClasses] };
  const f = (...ts: tf.Tensor[]) => {
    const ps = ts.slice(0, params.length);
    const [xt, yt] = ts.slice(params.length) as [tf.Tensor, tf.Tensor];
    const loss = (...p: tf.Tensor[]) => tf.losses.softmaxCrossEntropy(yt, model.forward(p, xt)) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(loss)(ps);
    return [value, ...grads];
  };
  return { inputs: [...params, x, y], f };
}

/** tf.grads of whole models' losses. */
export function modelSuite(label: string, cases: readonly (readonly [ModelName, number])[]): void {
  for (const [name, batch] of cases) {
    test(`${label}: tf.grads of the whole ${name} loss matches cpu at batch ${batch}`, async () => {
      const { inputs, f } = lossGrads(name, batch);
      const problems = await compareWithCpu(`${name} b=${batch}`, inputs, f, 2e-4);
      assert.deepEqual(problems, []);
    });
  }

}

/** Same inputs twice ⇒ the same bytes (models must be bit-identical across processes). */
export function determinismSuite(label: string): void {
  test(`${label}: the same inputs give the same bytes`, async () => {
    const x = randn(20, [7, 12, 12, 32]);
    const w = randn(21, [5, 5, 32, 64]);
    const dy = randn(22, [7, 8, 8, 64]);
    const grads = (xt: tf.Tensor, wt: tf.Tensor, dyt: tf.Tensor) =>
      tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')), 2, 2, 'valid'))(
        [xt, wt],
        tf.slice(dyt, [0, 0, 0, 0], [7, 4, 4, 64]),
      );
    const once = async () => {
      const xt = tf.tensor(x.data, x.shape);
      const wt = tf.tensor(w.data, w.shape);
      const dyt = tf.tensor(dy.data, dy.shape);
      const out = grads(xt, wt, dyt);
      const bytes = out.map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer));
      tf.dispose([xt, wt, dyt, ...out]);
      return bytes;
    };
    const [a, b] = [await once(), await once()];
    assert.equal(a.length, 2);
    for (let i = 0; i < a.length; i++) assert.ok(a[i]!.equals(b[i]!), `output ${i} differs between identical runs`);
  });
}

/**
 * The fused SGD kernel against the unfused tensor ops TorchSgd uses, byte for byte, on the
 * active backend and on cpu (small tensors take the loop path, large ones the SIMD path on wasm).
 */
export function sgdStepSuite(label: string): void {
  const cases = [
    { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, withBuf: true },
    { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, withBuf: false },
    { lr: 0.05, momentum: 0.5, weightDecay: 0, withBuf: true },
    { lr: 0.05, momentum: 0.5, weightDecay: 0, withBuf: false },
    { lr: 0.1, momentum: 0, weightDecay: 5e-4, withBuf: false },
    { lr: 0.1, momentum: 0, weightDecay: 0, withBuf: false },
  ];
  for (const shape of [[10], [200, 10], [784, 200]]) {
    test(`${label}: sgdStep is bit-identical to the unfused ops, shape [${shape.join(', ')}]`, async () => {
      const { sgdStep } = await import('../../src/compute/sgd-step.js');
      const p = randn(50, shape);
      const g = randn(51, shape);
      const b = randn(52, shape);
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        for (const c of cases) {
          const pt = tf.tensor(p.data, p.shape);
          const gt = tf.tensor(g.data, g.shape);
          const bt = c.withBuf ? tf.tensor(b.data, b.shape) : undefined;
          const want = tf.tidy(() => {
            const gg = c.weightDecay !== 0 ? tf.add(gt, tf.mul(pt, tf.scalar(c.weightDecay))) : gt;
            const nb = c.momentum !== 0 ? (bt ? tf.add(tf.mul(bt, tf.scalar(c.momentum)), gg) : tf.clone(gg)) : undefined;
            return [tf.sub(pt, tf.mul(nb ?? gg, tf.scalar(c.lr))), ...(nb ? [nb] : [])];
          });
          const got = sgdStep(pt, gt, bt, c);
          const gotList = [got.param, ...(got.buf ? [got.buf] : [])];
          assert.equal(gotList.length, want.length, `${backend} ${JSON.stringify(c)}: outputs`);
          for (let i = 0; i < want.length; i++) {
            const a = Buffer.from((gotList[i]!.dataSync() as Float32Array).slice().buffer);
            const e = Buffer.from((want[i]!.dataSync() as Float32Array).slice().buffer);
            assert.ok(a.equals(e), `${backend} ${JSON.stringify(c)}: output ${i} differs from the unfused ops`);
          }
          // inputs are not consumed
          assert.equal(pt.isDisposed || gt.isDisposed || (bt?.isDisposed ?? false), false);
          tf.dispose([pt, gt, ...(bt ? [bt] : []), ...want, ...gotList]);
        }
      }
      await tf.setBackend('wasm');
    });
  }

  test(`${label}: sgdStepAll gives sgdStep's bytes for every tensor`, async () => {
    const { sgdStep, sgdStepAll } = await import('../../src/compute/sgd-step.js');
    const shapes = [[784, 200], [200], [10], [300, 10]];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      for (const o of [{ momentum: 0.9, weightDecay: 1e-4 }, { momentum: 0, weightDecay: 0 }]) {
        const items = shapes.map((shape, i) => ({
          param: tf.tensor(randn(80 + i, shape).data, shape),
          grad: tf.tensor(randn(90 + i, shape).data, shape),
          // a first step (no buffer yet) next to later ones
          buf: o.momentum !== 0 && i % 2 === 0 ? tf.tensor(randn(100 + i, shape).data, shape) : undefined,
          lr: 0.01 * (i + 1),
        }));
        const all = sgdStepAll(items, o);
        items.forEach((it, i) => {
          const one = sgdStep(it.param, it.grad, it.buf, { lr: it.lr, ...o });
          const got = [all[i]!.param, ...(all[i]!.buf ? [all[i]!.buf!] : [])];
          const want = [one.param, ...(one.buf ? [one.buf] : [])];
          assert.equal(got.length, want.length, `${backend} tensor ${i}: outputs`);
          got.forEach((g, k) => assert.ok(Buffer.from((g.dataSync() as Float32Array).slice().buffer).equals(Buffer.from((want[k]!.dataSync() as Float32Array).slice().buffer)), `${backend} ${JSON.stringify(o)} tensor ${i} output ${k} differs`));
          tf.dispose([...got, ...want, it.param, it.grad, ...(it.buf ? [it.buf] : [])]);
        });
      }
    }
    await tf.setBackend('wasm');
  });

  test(`${label}: sgdStep rejects mismatched shapes naming the tensor`, async () => {
    const { sgdStep } = await import('../../src/compute/sgd-step.js');
    const p = tf.zeros([3, 2]);
    const g = tf.zeros([2, 3]);
    assert.throws(() => sgdStep(p, g, undefined, { lr: 0.1, momentum: 0, weightDecay: 0 }), /gradient shape \[2, 3\] ≠ parameter shape \[3, 2\]/);
    tf.dispose([p, g]);
  });
}

/**
 * The fused layer and loss kernels (compute/fused-layers.ts) against the reference cpu backend,
 * where the same calls compose tfjs's unfused ops: values and the gradients of every input.
 */
export function fusedLayerSuite(label: string, batches: readonly number[]): void {
  for (const b of batches) {
    for (const relu of [true, false]) {
      test(`${label}: fused dense${relu ? ' + ReLU' : ''} forward and gradients match cpu, batch ${b}`, async () => {
        const { denseLayer } = await import('../../src/compute/fused-layers.js');
        const x = randn(60, [b, 50]);
        const w = randn(61, [50, 30]);
        const bias = randn(62, [30]);
        const dy = randn(63, [b, 30]);
        const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) => denseLayer(xt as tf.Tensor2D, wt as tf.Tensor2D, bt, relu);
        const problems = await compareWithCpu(`dense b=${b}`, [x, w, bias, dy], (xt, wt, bt, dyt) => [
          f(xt!, wt!, bt!),
          ...tf.grads(f)([xt!, wt!, bt!], dyt),
        ]);
        assert.deepEqual(problems, []);
      });
      test(`${label}: fused conv2d${relu ? ' + ReLU' : ''} forward and gradients match cpu, batch ${b}`, async () => {
        const { conv2dLayer } = await import('../../src/compute/fused-layers.js');
        const x = randn(64, [b, 12, 12, 8]);
        const w = randn(65, [5, 5, 8, 16]);
        const bias = randn(66, [16]);
        const dy = randn(67, [b, 8, 8, 16]);
        const f = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) => conv2dLayer(xt as tf.Tensor4D, wt as tf.Tensor4D, bt, { strides: 1, pad: 'valid', relu });
        const problems = await compareWithCpu(`conv b=${b}`, [x, w, bias, dy], (xt, wt, bt, dyt) => [
          f(xt!, wt!, bt!),
          ...tf.grads(f)([xt!, wt!, bt!], dyt),
        ]);
        assert.deepEqual(problems, []);
      });
    }
    test(`${label}: fused softmax cross-entropy and its gradient match cpu, batch ${b}`, async () => {
      const { softmaxCrossEntropy } = await import('../../src/train/loss.js');
      const z = randn(68, [b, 10]);
      z.data[0] = 40; // a large logit: the log-sum-exp must stay finite
      const labels = Int32Array.from({ length: b }, (_, i) => (i * 3) % 10);
      const problems = await compareWithCpu(`softmax CE b=${b}`, [z], (zt) => {
        const y = tf.tensor1d(labels, 'int32');
        const loss = (l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, y);
        const { value, grads } = tf.valueAndGrads(loss)([zt!]);
        return [value, ...grads];
      });
      assert.deepEqual(problems, []);
    });
  }

  test(`${label}: a training step through the fused kernels gives the same bytes twice`, async () => {
    const { conv2dLayer, denseLayer } = await import('../../src/compute/fused-layers.js');
    const { softmaxCrossEntropy } = await import('../../src/train/loss.js');
    const x = randn(70, [7, 12, 12, 8]);
    const w = randn(71, [5, 5, 8, 16]);
    const bias = randn(72, [16]);
    const fw = randn(73, [1024, 10]);
    const fb = randn(74, [10]);
    const once = () => {
      const ts = [x, w, bias, fw, fb].map((t) => tf.tensor(t.data, t.shape));
      const labels = tf.tensor1d(Int32Array.from({ length: 7 }, (_, i) => i), 'int32');
      const out = tf.tidy(() => {
        const loss = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor, fwt: tf.Tensor, fbt: tf.Tensor) => {
          const h = conv2dLayer(xt as tf.Tensor4D, wt as tf.Tensor4D, bt, { strides: 1, pad: 'valid', relu: true });
          return softmaxCrossEntropy(denseLayer(tf.reshape(h, [7, -1]) as tf.Tensor2D, fwt as tf.Tensor2D, fbt, false), labels);
        };
        const { value, grads } = tf.valueAndGrads(loss)(ts);
        return [value, ...grads];
      });
      const bytes = out.map((t) => Buffer.from((t.dataSync() as Float32Array).slice().buffer));
      tf.dispose([...ts, labels, ...out]);
      return bytes;
    };
    const [a, b] = [once(), once()];
    assert.equal(a.length, 6);
    for (let i = 0; i < a.length; i++) assert.ok(a[i]!.equals(b[i]!), `output ${i} differs between identical runs`);
  });
}

/**
 * Local training of the layer-stack models without tfjs's engine (compute/layer-stack.ts):
 * the same bytes as the taped loop on this backend, close to the taped loop on the reference
 * cpu backend, the same bytes twice, and really off the engine (no kernel goes through it).
 */
export function layerStackSuite(label: string): void {
  const cases = [
    { name: 'mlp' as const, sgd: { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }, batchSize: 32, n: 75, freeze: 'fc2.bias' },
    { name: 'mlp' as const, sgd: { lr: 0.01, momentum: 0, weightDecay: 0 }, batchSize: 10, n: 40, freeze: undefined },
    { name: 'logreg' as const, sgd: { lr: 0.1, momentum: 0.5, weightDecay: 0 }, batchSize: 7, n: 30, freeze: undefined },
    { name: 'fedavgcnn' as const, sgd: { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 }, batchSize: 10, n: 25, freeze: 'conv2.weight' },
    { name: 'fedavgcnn' as const, sgd: { lr: 0.01, momentum: 0, weightDecay: 0 }, batchSize: 4, n: 9, freeze: 'conv1.bias' },
  ];
  for (const c of cases) {
    test(`${label}: ${c.name} trains off the engine with the taped loop's bytes (batch ${c.batchSize}, momentum ${c.sgd.momentum})`, async () => {
      const { trainLocal } = await import('../../src/train/sgd.js');
      const model = createModel(c.name);
      const taped = { ...model, layerStack: undefined };
      const start = model.init(3);
      const x = randn(110, [c.n, ...model.inputShape]).data;
      const y = Int32Array.from({ length: c.n }, (_, i) => (i * 7 + 3) % model.numClasses);
      const data = { x, y, n: c.n, featureShape: [...model.inputShape] };
      const opts = { sgd: c.sgd, batchSize: c.batchSize, epochs: 2, seed: 5 };
      const hooks = c.freeze ? { lrScale: (t: { name: string }) => (t.name === c.freeze ? 0 : 1) } : {};
      const bytes = (p: Float32Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      const dataIds = tf.backend().numDataIds();
      let r = undefined as unknown as Awaited<ReturnType<typeof trainLocal>>;
      const fast = await tf.profile(async () => {
        r = await trainLocal(model, start, data, opts, hooks);
        return [];
      });
      assert.deepEqual(fast.kernelNames.filter((k) => k.startsWith('Fedsim')), [], 'the step went through the engine');
      assert.equal(tf.backend().numDataIds(), dataIds, 'training left tensors on the backend');
      const again = await trainLocal(model, start, data, opts, hooks);
      assert.ok(bytes(again.params).equals(bytes(r.params)), 'two identical runs differ');
      const want = await trainLocal(taped, start, data, opts, hooks);
      assert.equal(r.steps, want.steps);
      assert.equal(r.loss, want.loss);
      assert.ok(bytes(r.params).equals(bytes(want.params)), 'parameters differ from the taped loop');
      if (c.freeze) {
        const t = model.spec.tensors.find((s) => s.name === c.freeze)!;
        assert.ok(bytes(r.params.subarray(t.offset, t.offset + t.length)).equals(bytes(start.subarray(t.offset, t.offset + t.length))), 'a frozen tensor moved');
      }
      await tf.setBackend('cpu');
      const ref = await trainLocal(model, start, data, opts, hooks);
      await tf.setBackend('wasm');
      assert.ok(Math.abs(ref.loss - r.loss) <= 1e-4 * Math.abs(ref.loss), `loss ${r.loss} vs cpu ${ref.loss}`);
      let worst = 0;
      for (let i = 0; i < ref.params.length; i++) worst = Math.max(worst, Math.abs(ref.params[i]! - r.params[i]!));
      assert.ok(worst < 1e-4, `parameters differ from the cpu backend's by up to ${worst}`);
    });
  }
}
