import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { sgdStepAll } from '../compute/sgd-step.js';

export interface SgdParam {
  readonly variable: tf.Variable;
  /** this tensor's learning rate (the base rate times its lrScale) */
  readonly lr: number;
}

/**
 * torch.optim.SGD without dampening or Nesterov, step for step:
 *   g ← ∇ + wd·p;  buf ← g (first step) or momentum·buf + g;  p ← p − lr·buf.
 * A parameter with no gradient in a step is skipped entirely (PyTorch's `grad is None`).
 * Momentum buffers live as tensors until `dispose`; create one optimiser per local training.
 * Exported so algorithms with their own loop (e.g. APFL's two models) keep the same maths.
 */
export class TorchSgd {
  private readonly params: readonly SgdParam[];
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly buffers: (tf.Tensor | undefined)[];

  constructor(params: readonly SgdParam[], opts: { readonly momentum: number; readonly weightDecay: number }) {
    this.params = params;
    this.momentum = opts.momentum;
    this.weightDecay = opts.weightDecay;
    this.buffers = params.map(() => undefined);
  }

  /** One update; `grads[i]` belongs to `params[i]` and is not consumed (the caller disposes it). */
  step(grads: readonly (tf.Tensor | undefined)[]): void {
    if (grads.length !== this.params.length) {
      throw new Error(`TorchSgd.step: got ${grads.length} gradients for ${this.params.length} parameters`);
    }
    const stepped = this.params.map((_, i) => i).filter((i) => grads[i] !== undefined);
    // One fused kernel for all tensors where the backend has it (bit-identical to the op sequence).
    const results = sgdStepAll(
      stepped.map((i) => ({ param: this.params[i]!.variable, grad: grads[i]!, buf: this.buffers[i], lr: this.params[i]!.lr })),
      { momentum: this.momentum, weightDecay: this.weightDecay },
    );
    stepped.forEach((i, k) => {
      const next = results[k]!;
      this.params[i]!.variable.assign(next.param);
      next.param.dispose();
      if (next.buf) {
        this.buffers[i]?.dispose();
        this.buffers[i] = next.buf;
      }
    });
  }

  dispose(): void {
    tf.dispose(this.buffers.filter((b): b is tf.Tensor => b !== undefined));
    this.buffers.fill(undefined);
  }
}
