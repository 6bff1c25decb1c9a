import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { CONV, CONV_GRAD, DENSE, DENSE_GRAD, SOFTMAX_CE, SOFTMAX_CE_GRAD } from './fused-layers.js';
import { SGD_STEP } from './sgd-step.js';
import { heapF32, WASM, type TensorInfo } from './wasm/kernel-util.js';

/**
 * A whole training step of a plain stack of layers (dense and NHWC convolution with bias and
 * optional ReLU, max-pooling, flatten), mean softmax cross-entropy and one SGD update, without
 * tfjs's engine: the registered kernels the engine would run for the model's forward and its
 * backward (fused layers and loss, MaxPool and its gradient, the input-gradient convolution and
 * matmul, the per-tensor SGD kernel), called directly on the wasm backend's tensors with the
 * attributes the engine's ops pass, so the bytes are those of the taped step. What goes away is
 * the engine's per-dispatch work (tape records, tensor tracking, profiling hooks, tidy scopes):
 * on an MLP step of about a millisecond it is as much CPU as the arithmetic.
 */

/** One layer; weight and bias are indices among the model's tensors. */
export type StackLayer =
  | { readonly kind: 'dense'; readonly weight: number; readonly bias: number; readonly relu: boolean }
  /** NHWC, filter [kh, kw, in, out], square stride */
  | { readonly kind: 'conv'; readonly weight: number; readonly bias: number; readonly relu: boolean; readonly strides: number; readonly pad: 'valid' | 'same' }
  /** valid padding, square window */
  | { readonly kind: 'maxPool'; readonly size: number; readonly stride: number }
  /** [B, ...] → [B, prod(...)] */
  | { readonly kind: 'flatten' };

export interface LayerStackSetup {
  readonly layers: readonly StackLayer[];
  /** per-sample input shape */
  readonly inputShape: readonly number[];
  /** every tensor's shape, in model order */
  readonly shapes: readonly (readonly number[])[];
  /** every tensor's values, in model order */
  readonly values: readonly Float32Array[];
  /** every tensor's learning rate; null freezes it (no decay, no update, as TorchSgd leaves it out) */
  readonly lrs: readonly (number | null)[];
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface LayerStackTrainer {
  /**
   * One SGD step on a batch of `size` samples that `fill` writes into x ([size, ...inputShape],
   * row-major) and labels; returns the batch's mean cross-entropy as float32.
   */
  step(size: number, fill: (x: Float32Array, labels: Int32Array) => void): number;
  /** the current values of tensor i (a copy) */
  read(i: number): Float32Array;
  dispose(): void;
}

const KERNELS = [DENSE, DENSE_GRAD, CONV, CONV_GRAD, SOFTMAX_CE, SOFTMAX_CE_GRAD, SGD_STEP, 'BatchMatMul', 'MaxPool', 'MaxPoolGrad', 'Conv2DBackpropInput'];

/** Whether the active backend can run a layer stack without the engine (wasm with the fused kernels). */
export function layerStackAvailable(): boolean {
  return tf.getBackend() === WASM && KERNELS.every((k) => tf.getKernel(k, WASM) !== undefined);
}

const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
const hasParams = (l: StackLayer) => l.kind === 'dense' || l.kind === 'conv';

class WasmLayerStack implements LayerStackTrainer {
  private readonly backend = tf.backend() as BackendWasm;
  private readonly kernels = new Map<string, tf.KernelFunc>();
  private readonly params: TensorInfo[];
  private readonly buffers: (TensorInfo | undefined)[];
  private readonly one: TensorInfo;
  /** index of the first layer with parameters: no input gradient flows below it */
  private readonly firstParamLayer: number;

  constructor(private readonly s: LayerStackSetup) {
    for (const k of KERNELS) this.kernels.set(k, tf.getKernel(k, WASM)!.kernelFunc);
    this.params = s.values.map((v, i) => this.upload(v, [...s.shapes[i]!]));
    this.buffers = s.values.map(() => undefined);
    this.one = this.upload(new Float32Array([1]), []);
    this.firstParamLayer = s.layers.findIndex(hasParams);
  }

  private upload(values: Float32Array, shape: number[]): TensorInfo {
    const t = this.backend.makeOutput(shape, 'float32');
    heapF32(this.backend, t).set(values);
    return t;
  }

  private run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo[] {
    const out = this.kernels.get(name)!({ inputs, backend: this.backend, attrs });
    return Array.isArray(out) ? out : [out];
  }

  private free(...ts: (TensorInfo | undefined)[]): void {
    for (const t of ts) if (t) this.backend.disposeData(t.dataId);
  }

  private forward(l: StackLayer, x: TensorInfo): TensorInfo {
    switch (l.kind) {
      case 'dense':
        return this.run(DENSE, { x, w: this.params[l.weight]!, b: this.params[l.bias]! }, { relu: l.relu })[0]!;
      case 'conv':
        return this.run(CONV, { x, filter: this.params[l.weight]!, bias: this.params[l.bias]! }, { strides: l.strides, pad: l.pad, relu: l.relu })[0]!;
      case 'maxPool':
        return this.run('MaxPool', { x }, { filterSize: l.size, strides: l.stride, pad: 'valid', dimRoundingMode: undefined as unknown as string })[0]!;
      case 'flatten':
        return view(x, [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)]);
    }
  }

  /**
   * The layer's backward for output gradient dy: its parameters' gradients into `grads`, and
   * the input gradient when `needInput` (the engine computes it only where it flows on).
   */
  private backward(l: StackLayer, x: TensorInfo, y: TensorInfo, dy: TensorInfo, needInput: boolean, grads: (TensorInfo | undefined)[]): TensorInfo | undefined {
    switch (l.kind) {
      case 'dense': {
        const [dpre, dw, db] = this.run(DENSE_GRAD, { dy, x, y }, { relu: l.relu });
        grads[l.weight] = dw;
        grads[l.bias] = db;
        // tf.matMul(dpre, w, false, true): rank-2 operands, as the op passes them (the wasm
        // kernel's cheap transposed layout applies to rank 2 only)
        const dx = needInput
          ? this.run('BatchMatMul', { a: dpre!, b: this.params[l.weight]! }, { transposeA: false, transposeB: true })[0]
          : undefined;
        this.free(dpre);
        return dx;
      }
      case 'conv': {
        const filter = this.params[l.weight]!;
        const [dpre, dw, db] = this.run(CONV_GRAD, { dy, x, y }, { strides: l.strides, pad: l.pad, relu: l.relu, filterShape: filter.shape });
        grads[l.weight] = dw;
        grads[l.bias] = db;
        // tf.conv2dTranspose(dpre, filter, x.shape, strides, pad)
        const dx = needInput
          ? this.run('Conv2DBackpropInput', { dy: dpre!, filter }, { strides: l.strides, pad: l.pad, dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string, inputShape: x.shape })[0]
          : undefined;
        this.free(dpre);
        return dx;
      }
      case 'maxPool':
        return needInput
          ? this.run('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: l.size, strides: l.stride, pad: 'valid', dimRoundingMode: undefined as unknown as string })[0]
          : undefined;
      case 'flatten':
        // a view of dy (the caller then keeps dy's data)
        return needInput ? view(dy, x.shape) : undefined;
    }
  }

  step(size: number, fill: (x: Float32Array, labels: Int32Array) => void): number {
    const { layers } = this.s;
    const x = this.backend.makeOutput([size, ...this.s.inputShape], 'float32');
    const labels = this.backend.makeOutput([size], 'int32');
    fill(heapF32(this.backend, x), this.backend.typedArrayFromHeap(labels) as Int32Array);
    // each layer's input and output, kept for its backward as the engine saves them
    const acts: TensorInfo[] = [x];
    const owned: TensorInfo[] = [x, labels];
    const grads: (TensorInfo | undefined)[] = this.params.map(() => undefined);
    try {
      for (const l of layers) {
        const y = this.forward(l, acts[acts.length - 1]!);
        acts.push(y);
        if (l.kind !== 'flatten') owned.push(y);
      }
      const logits = acts[acts.length - 1]!;
      const [lossT] = this.run(SOFTMAX_CE, { logits, labels });
      owned.push(lossT!);
      const loss = heapF32(this.backend, lossT!)[0]!;
      let dy: TensorInfo | undefined = this.run(SOFTMAX_CE_GRAD, { dy: this.one, logits, labels })[0]!;
      for (let i = layers.length - 1; i >= 0 && dy; i--) {
        const l = layers[i]!;
        const dx = this.backward(l, acts[i]!, acts[i + 1]!, dy, i > this.firstParamLayer, grads);
        if (dx?.dataId !== dy.dataId) this.free(dy);
        dy = dx;
      }
      if (dy) this.free(dy);
      this.update(grads);
      return loss;
    } finally {
      this.free(...owned);
    }
  }

  /** TorchSgd's update, tensor by tensor, through the same per-tensor kernel; frees the gradients. */
  private update(grads: (TensorInfo | undefined)[]): void {
    const { momentum, weightDecay } = this.s;
    grads.forEach((grad, i) => {
      const lr = this.s.lrs[i];
      if (!grad || lr === null || lr === undefined) return;
      const buf = this.buffers[i];
      const out = this.run(SGD_STEP, buf ? { param: this.params[i]!, grad, buf } : { param: this.params[i]!, grad }, { lr, momentum, weightDecay });
      this.free(this.params[i]);
      this.params[i] = out[0]!;
      if (momentum !== 0) {
        this.free(buf);
        this.buffers[i] = out[1];
      }
    });
    this.free(...grads);
  }

  read(i: number): Float32Array {
    return heapF32(this.backend, this.params[i]!).slice();
  }

  dispose(): void {
    this.free(...this.params, ...this.buffers, this.one);
    this.params.length = 0;
    this.buffers.length = 0;
  }
}

/** A trainer on the active backend, or undefined where it cannot run (see layerStackAvailable). */
export function createLayerStackTrainer(setup: LayerStackSetup): LayerStackTrainer | undefined {
  if (!layerStackAvailable()) return undefined;
  const n = setup.shapes.length;
  if (setup.values.length !== n || setup.lrs.length !== n) {
    throw new Error(`createLayerStackTrainer: ${n} shapes but ${setup.values.length} values and ${setup.lrs.length} learning rates`);
  }
  if (!setup.layers.some(hasParams)) throw new Error('createLayerStackTrainer: no layer with parameters');
  return new WasmLayerStack(setup);
}
