import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';

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
  private readonly lrs: tf.Scalar[];
  private readonly momentum: tf.Scalar | undefined;
  private readonly weightDecay: tf.Scalar | undefined;
  private readonly buffers: (tf.Tensor | undefined)[];

  constructor(params: readonly SgdParam[], opts: { readonly momentum: number; readonly weightDecay: number }) {
    this.params = params;
    // keep(): the optimiser may be built inside a caller's tidy and must outlive it.
    this.lrs = params.map((p) => tf.keep(tf.scalar(p.lr)));
    this.momentum = opts.momentum !== 0 ? tf.keep(tf.scalar(opts.momentum)) : undefined;
    this.weightDecay = opts.weightDecay !== 0 ? tf.keep(tf.scalar(opts.weightDecay)) : undefined;
    this.buffers = params.map(() => undefined);
  }

  /** One update; `grads[i]` belongs to `params[i]` and is not consumed (the caller disposes it). */
  step(grads: readonly (tf.Tensor | undefined)[]): void {
    if (grads.length !== this.params.length) {
      throw new Error(`TorchSgd.step: got ${grads.length} gradients for ${this.params.length} parameters`);
    }
    tf.tidy(() => {
      for (let i = 0; i < this.params.length; i++) {
        const grad = grads[i];
        if (grad === undefined) continue;
        const p = this.params[i]!.variable;
        const g = this.weightDecay ? tf.add(grad, tf.mul(p, this.weightDecay)) : grad;
        let direction = g;
        if (this.momentum) {
          const prev = this.buffers[i];
          const buf = prev === undefined ? tf.clone(g) : tf.add(tf.mul(prev, this.momentum), g);
          this.buffers[i] = tf.keep(buf);
          prev?.dispose();
          direction = buf;
        }
        p.assign(tf.sub(p, tf.mul(direction, this.lrs[i]!)));
      }
    });
  }

  dispose(): void {
    tf.dispose([...this.lrs, ...this.buffers.filter((b): b is tf.Tensor => b !== undefined)]);
    this.momentum?.dispose();
    this.weightDecay?.dispose();
    this.buffers.fill(undefined);
  }
}
