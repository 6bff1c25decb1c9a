import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { DENSE, DENSE_GRAD, SOFTMAX_CE, SOFTMAX_CE_GRAD } from './fused-layers.js';
import { SGD_STEP } from './sgd-step.js';
import { heapF32, WASM, type TensorInfo } from './wasm/kernel-util.js';

/**
 * A whole training step of a stack of dense layers (flatten, then x·W + b with optional ReLU per
 * layer, then mean softmax cross-entropy and one SGD update) without tfjs's engine: the same
 * registered kernels the engine would run (fused dense forward and backward, the fused loss and
 * its gradient, the per-tensor SGD kernel, the input-gradient matmul), called directly on the
 * wasm backend's tensors in the order the engine's backward runs them, so the bytes are those
 * of the taped step. What goes away is the engine's per-dispatch work (tape records, tensor
 * tracking, profiling hooks, tidy scopes), which on an MLP step of about a millisecond is as much
 * CPU as the arithmetic.
 */

/** One dense layer: indices of its weight [in, out] and bias [out] among the model's tensors. */
export interface DenseLayerRef {
  readonly weight: number;
  readonly bias: number;
  readonly relu: boolean;
}

export interface DenseStackSetup {
  readonly layers: readonly DenseLayerRef[];
  /** every tensor's shape, in model order */
  readonly shapes: readonly (readonly number[])[];
  /** every tensor's values, in model order */
  readonly values: readonly Float32Array[];
  /** every tensor's learning rate; null freezes it (no decay, no update, as TorchSgd leaves it out) */
  readonly lrs: readonly (number | null)[];
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface DenseStackTrainer {
  /**
   * One SGD step on a batch of `size` samples that `fill` writes into x ([size, inFeatures],
   * row-major) and labels; returns the batch's mean cross-entropy as float32.
   */
  step(size: number, fill: (x: Float32Array, labels: Int32Array) => void): number;
  /** the current values of tensor i (a copy) */
  read(i: number): Float32Array;
  dispose(): void;
}

const kernelNames = [DENSE, DENSE_GRAD, SOFTMAX_CE, SOFTMAX_CE_GRAD, SGD_STEP, 'BatchMatMul'];

/** Whether the active backend can run a dense stack without the engine (wasm with the fused kernels). */
export function denseStackAvailable(): boolean {
  return tf.getBackend() === WASM && kernelNames.every((k) => tf.getKernel(k, WASM) !== undefined);
}

const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });

class WasmDenseStack implements DenseStackTrainer {
  private readonly backend = tf.backend() as BackendWasm;
  private readonly kernels = new Map<string, tf.KernelFunc>();
  private readonly params: TensorInfo[];
  private readonly buffers: (TensorInfo | undefined)[];
  private readonly one: TensorInfo;
  private readonly inFeatures: number;

  constructor(private readonly s: DenseStackSetup) {
    for (const k of kernelNames) this.kernels.set(k, tf.getKernel(k, WASM)!.kernelFunc);
    this.params = s.values.map((v, i) => this.upload(v, [...s.shapes[i]!], 'float32'));
    this.buffers = s.values.map(() => undefined);
    this.one = this.upload(new Float32Array([1]), [], 'float32');
    this.inFeatures = s.shapes[s.layers[0]!.weight]![0]!;
  }

  private upload(values: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32'): TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    (this.backend.typedArrayFromHeap(t) as Float32Array | Int32Array).set(values);
    return t;
  }

  private run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo[] {
    const out = this.kernels.get(name)!({ inputs, backend: this.backend, attrs });
    return Array.isArray(out) ? out : [out];
  }

  private free(...ts: (TensorInfo | undefined)[]): void {
    for (const t of ts) if (t) this.backend.disposeData(t.dataId);
  }

  step(size: number, fill: (x: Float32Array, labels: Int32Array) => void): number {
    const { layers } = this.s;
    const x = this.backend.makeOutput([size, this.inFeatures], 'float32');
    const labels = this.backend.makeOutput([size], 'int32');
    fill(heapF32(this.backend, x), this.backend.typedArrayFromHeap(labels) as Int32Array);
    // each layer's input and output, kept for its backward as the engine saves them
    const acts: TensorInfo[] = [x];
    const temps: TensorInfo[] = [labels];
    try {
      for (const l of layers) {
        const [y] = this.run(DENSE, { x: acts[acts.length - 1]!, w: this.params[l.weight]!, b: this.params[l.bias]! }, { relu: l.relu });
        acts.push(y!);
      }
      const logits = acts[acts.length - 1]!;
      const [lossT] = this.run(SOFTMAX_CE, { logits, labels });
      temps.push(lossT!);
      const loss = heapF32(this.backend, lossT!)[0]!;
      let [dy] = this.run(SOFTMAX_CE_GRAD, { dy: this.one, logits, labels });
      const grads: (TensorInfo | undefined)[] = this.params.map(() => undefined);
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        const [dpre, dw, db] = this.run(DENSE_GRAD, { dy: dy!, x: acts[i]!, y: acts[i + 1]! }, { relu: l.relu });
        this.free(dy);
        grads[l.weight] = dw;
        grads[l.bias] = db;
        // the engine computes an input gradient only where it flows on: not into the batch
        dy = i > 0 ? this.inputGradient(dpre!, this.params[l.weight]!) : undefined;
        this.free(dpre);
      }
      this.update(grads);
      return loss;
    } finally {
      this.free(...acts, ...temps);
    }
  }

  /** dpre · Wᵀ, as tf.matMul runs it (rank-3 operands through the BatchMatMul kernel). */
  private inputGradient(dpre: TensorInfo, w: TensorInfo): TensorInfo {
    const [dx] = this.run('BatchMatMul', { a: view(dpre, [1, ...dpre.shape]), b: view(w, [1, ...w.shape]) }, { transposeA: false, transposeB: true });
    return view(dx!, dx!.shape.slice(1));
  }

  /** TorchSgd's update, tensor by tensor in model order, through the same per-tensor kernel. */
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

/** A trainer on the active backend, or undefined where it cannot run (see denseStackAvailable). */
export function createDenseStackTrainer(setup: DenseStackSetup): DenseStackTrainer | undefined {
  if (!denseStackAvailable()) return undefined;
  const n = setup.shapes.length;
  if (setup.values.length !== n || setup.lrs.length !== n) throw new Error(`createDenseStackTrainer: ${n} shapes but ${setup.values.length} values and ${setup.lrs.length} learning rates`);
  if (setup.layers.length === 0) throw new Error('createDenseStackTrainer: no layers');
  return new WasmDenseStack(setup);
}
