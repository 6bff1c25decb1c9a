import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapF32, input, WASM, type KernelArgs, type TensorInfo } from './wasm/kernel-util.js';
import type { NativeKernels } from './native/addon.js';
import { simdKernelsFor } from './wasm/simd/module.js';

/**
 * Dense and convolution layers (bias, optional ReLU) as one kernel forward and one backward,
 * with gradients registered for them. tfjs runs `tf.fused.*` with a ReLU as three taped ops under
 * a gradient (matmul/conv, bias add, relu) and takes five or six kernels for their backward (relu
 * mask, multiply, bias sum, the weight and input gradients); every dispatch costs tens of
 * microseconds of engine work, which at batch 10 or on the MLP is more than the arithmetic.
 *
 * The kernels run on the wasm backend (with and without the native addon) and delegate the heavy
 * work to the matmul/conv/sum kernels registered there (native or wasm): the same arithmetic as
 * the unfused ops (a masked-out gradient is +0 where their multiply gave −0). Elsewhere the
 * layers fall back to `tf.fused.*`.
 */
export const DENSE = 'FedsimDense';
export const DENSE_GRAD = 'FedsimDenseGrad';
export const CONV = 'FedsimConv2D';
export const CONV_GRAD = 'FedsimConv2DGrad';

type ConvGeometry = { strides: number; pad: 'valid' | 'same' };

function kernelOf(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, WASM);
  if (!k) throw new Error(`wasm kernel '${name}' is not registered`);
  return k.kernelFunc;
}

function runOne(name: string, args: KernelArgs): TensorInfo {
  const out = kernelOf(name)(args);
  if (Array.isArray(out)) throw new Error(`wasm kernel '${name}' returned several outputs`);
  return out;
}

/**
 * The layer's pre-activation gradient (dy where the output is positive with ReLU, else dy) and
 * the bias gradient (its sum over every leading axis). With the addon both are its passes;
 * otherwise one pass of the SIMD kernels.
 */
function preActivationGradients(args: KernelArgs, relu: boolean): [TensorInfo, TensorInfo] {
  const backend = asWasm(args.backend);
  const dy = input(args, 'dy');
  const dpre = backend.makeOutput(dy.shape, 'float32');
  const cols = dy.shape[dy.shape.length - 1]!;
  const rows = dy.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (!native) {
    const simd = simdKernelsFor(backend);
    const db = backend.makeOutput([cols], 'float32');
    simd.k.biasReluGrad(simd.ptr(dy), relu ? simd.ptr(input(args, 'y')) : 0, rows, cols, relu ? 1 : 0, simd.ptr(dpre), simd.ptr(db));
    return [dpre, db];
  }
  const g = heapF32(backend, dy);
  const o = heapF32(backend, dpre);
  if (relu) native.reluGrad(g, heapF32(backend, input(args, 'y')), o);
  else o.set(g);
  const axes = dpre.shape.slice(0, -1).map((_, i) => i);
  return [dpre, runOne('Sum', { inputs: { x: dpre }, backend, attrs: { axis: axes, keepDims: false } })];
}

/** The same data seen with another shape (the matmul kernels take rank-3 operands, as tfjs's ops pass them). */
const reshaped = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });

const kernels: Record<string, tf.KernelFunc> = {
  [DENSE]: (args) => {
    const x = input(args, 'x');
    const w = input(args, 'w');
    const y = runOne('_FusedMatMul', {
      inputs: { a: reshaped(x, [1, ...x.shape]), b: reshaped(w, [1, ...w.shape]), bias: input(args, 'b') },
      backend: args.backend,
      attrs: { transposeA: false, transposeB: false, activation: args.attrs?.['relu'] ? 'relu' : 'linear' },
    });
    return reshaped(y, y.shape.slice(1));
  },
  /** outputs: the pre-activation gradient, dW = xᵀ·dpre, db = Σ dpre */
  [DENSE_GRAD]: (args) => {
    const [dpre, db] = preActivationGradients(args, args.attrs?.['relu'] === true);
    const x = input(args, 'x');
    const dw = runOne('BatchMatMul', {
      inputs: { a: reshaped(x, [1, ...x.shape]), b: reshaped(dpre, [1, ...dpre.shape]) },
      backend: args.backend,
      attrs: { transposeA: true, transposeB: false },
    });
    return [dpre, reshaped(dw, dw.shape.slice(1)), db];
  },
  [CONV]: (args) => {
    const { x, filter, bias } = args.inputs;
    const a = args.attrs as unknown as ConvGeometry & { relu: boolean };
    return runOne('FusedConv2D', {
      inputs: { x: x!, filter: filter!, bias: bias! },
      backend: args.backend,
      attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1, activation: a.relu ? 'relu' : 'linear' },
    });
  },
  /** outputs: the pre-activation gradient, dW, db */
  [CONV_GRAD]: (args) => {
    const a = args.attrs as unknown as ConvGeometry & { relu: boolean; filterShape: number[] };
    const [dpre, db] = preActivationGradients(args, a.relu);
    const dw = runOne('Conv2DBackpropFilter', {
      inputs: { x: input(args, 'x'), dy: dpre },
      backend: args.backend,
      attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1, filterShape: a.filterShape },
    });
    return [dpre, dw, db];
  },
};

function registerGradients(): void {
  tf.registerGradient({
    kernelName: DENSE,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const [dpre, dw, db] = tf.engine().runKernel(DENSE_GRAD, { dy: dy as tf.Tensor, x, y }, attrs) as tf.Tensor[];
      return { x: () => tf.matMul(dpre!, w, false, true), w: () => dw!, b: () => db! };
    },
  });
  tf.registerGradient({
    kernelName: CONV,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as ConvGeometry;
      const [dpre, dw, db] = tf.engine().runKernel(CONV_GRAD, { dy: dy as tf.Tensor, x, y }, { ...attrs, filterShape: filter.shape }) as tf.Tensor[];
      return {
        // only when the input needs a gradient (not for the first layer): the engine asks lazily
        x: () => tf.conv2dTranspose(dpre as tf.Tensor4D, filter, x.shape, a.strides, a.pad),
        filter: () => dw!,
        bias: () => db!,
      };
    },
  });
}

let registered = false;
/** the addon, when the backend is wasm-blas: element-wise passes run there */
let native: NativeKernels | undefined;

/**
 * Registers the fused layer kernels on the wasm backend (after its other training kernels), with
 * the native addon for their element-wise passes when given. Idempotent.
 */
export function registerFusedLayerKernels(addon?: NativeKernels): string[] {
  if (addon) native = addon;
  if (registered) return [];
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    if (tf.getKernel(kernelName, WASM)) tf.unregisterKernel(kernelName, WASM);
    tf.registerKernel({ kernelName, backendName: WASM, kernelFunc });
  }
  registerGradients();
  registered = true;
  return Object.keys(kernels);
}

const fusedHere = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/** x·W + b, then ReLU if asked: [B, in] × [in, out] → [B, out]. */
export function denseLayer(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor, relu: boolean): tf.Tensor2D {
  if (!fusedHere(DENSE)) return tf.fused.matMul({ a: x, b: w, bias: b, activation: relu ? 'relu' : 'linear' }) as tf.Tensor2D;
  return tf.engine().runKernel(DENSE, { x, w, b }, { relu }) as tf.Tensor2D;
}

/** NHWC convolution with [kh, kw, in, out] filters, per-channel bias, then ReLU if asked. */
export function conv2dLayer(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, o: ConvGeometry & { relu: boolean }): tf.Tensor4D {
  if (!fusedHere(CONV)) {
    return tf.fused.conv2d({ x, filter, strides: o.strides, pad: o.pad, bias, activation: o.relu ? 'relu' : 'linear' });
  }
  return tf.engine().runKernel(CONV, { x, filter, bias }, { strides: o.strides, pad: o.pad, relu: o.relu }) as tf.Tensor4D;
}

/**
 * Mean softmax cross-entropy (PyTorch's CrossEntropyLoss) of [B, C] logits and int32 labels as
 * one kernel, and its gradient dy·(softmax − onehot)/B as one more: per row in double precision
 * (max, Σ exp, log-sum-exp), rounded to float32 once. The gradient recomputes the softmax from
 * the saved logits rather than being a second forward output, whose (unused) incoming gradient
 * the engine would otherwise fill with zeros every step.
 */
export const SOFTMAX_CE = 'FedsimSoftmaxCrossEntropy';
export const SOFTMAX_CE_GRAD = 'FedsimSoftmaxCrossEntropyGrad';

/** Calls `row(r, m, s)` with each row's max m and Σ exp(z − m), in double precision. */
function softmaxRows(z: Float32Array, b: number, c: number, row: (r: number, m: number, s: number) => void): void {
  for (let r = 0; r < b; r++) {
    const at = r * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, z[at + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[at + j]! - m);
    row(r, m, s);
  }
}

function softmaxCrossEntropyKernel(args: KernelArgs): TensorInfo {
  const backend = asWasm(args.backend);
  const logits = input(args, 'logits');
  const [b, c] = logits.shape as [number, number];
  const loss = backend.makeOutput([], 'float32');
  const z = heapF32(backend, logits);
  const labels = backend.typedArrayFromHeap(input(args, 'labels')) as Int32Array;
  let total = 0;
  softmaxRows(z, b, c, (r, m, s) => {
    total -= z[r * c + labels[r]!]! - m - Math.log(s);
  });
  heapF32(backend, loss)[0] = total / b;
  return loss;
}

function softmaxCrossEntropyGradKernel(args: KernelArgs): TensorInfo {
  const backend = asWasm(args.backend);
  const logits = input(args, 'logits');
  const [b, c] = logits.shape as [number, number];
  const grad = backend.makeOutput([b, c], 'float32');
  const z = heapF32(backend, logits);
  const labels = backend.typedArrayFromHeap(input(args, 'labels')) as Int32Array;
  const dy = heapF32(backend, input(args, 'dy'))[0]!;
  const g = heapF32(backend, grad);
  softmaxRows(z, b, c, (r, m, s) => {
    const at = r * c;
    const label = labels[r]!;
    for (let j = 0; j < c; j++) g[at + j] = (dy * (Math.exp(z[at + j]! - m) / s - (j === label ? 1 : 0))) / b;
  });
  return grad;
}

let lossRegistered = false;

/** Registers the fused loss kernel and its gradient on the wasm backend. Idempotent. */
export function registerSoftmaxCrossEntropyKernel(): string[] {
  if (lossRegistered) return [];
  for (const [kernelName, kernelFunc] of [[SOFTMAX_CE, softmaxCrossEntropyKernel], [SOFTMAX_CE_GRAD, softmaxCrossEntropyGradKernel]] as const) {
    if (tf.getKernel(kernelName, WASM)) tf.unregisterKernel(kernelName, WASM);
    tf.registerKernel({ kernelName, backendName: WASM, kernelFunc });
  }
  tf.registerGradient({
    kernelName: SOFTMAX_CE,
    inputsToSave: ['logits', 'labels'],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved as [tf.Tensor, tf.Tensor];
      return {
        logits: () => tf.engine().runKernel(SOFTMAX_CE_GRAD, { dy: dy as tf.Tensor, logits, labels }, {}) as tf.Tensor,
        // labels are integers: no gradient flows there (the engine never asks)
        labels: () => tf.zerosLike(labels),
      };
    },
  });
  lossRegistered = true;
  return [SOFTMAX_CE, SOFTMAX_CE_GRAD];
}

/** The fused loss where the backend has it; undefined elsewhere (the caller composes it from ops). */
export function fusedSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar | undefined {
  if (!fusedHere(SOFTMAX_CE) || labels.dtype !== 'int32') return undefined;
  return tf.engine().runKernel(SOFTMAX_CE, { logits, labels }, {}) as tf.Scalar;
}
