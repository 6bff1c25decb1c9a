import * as tf from '@tensorflow/tfjs-core';
import { sgdStep } from '@fedsim/fl/compute/index';
import { TorchSgd } from '@fedsim/fl/train/index';

/**
 * Bench-only experiment (--fused-sgd): runs TorchSgd's update through compute's fused sgdStep
 * kernel to measure what adopting it in libs/fl/src/train would gain. Reaches into TorchSgd's
 * private fields, so it is not for production use.
 */
interface TorchSgdInternals {
  params: readonly { variable: tf.Variable; lr: number }[];
  momentum: tf.Scalar | undefined;
  weightDecay: tf.Scalar | undefined;
  buffers: (tf.Tensor | undefined)[];
}

export function patchTorchSgdWithFusedStep(): void {
  const scalars = new WeakMap<object, { momentum: number; weightDecay: number }>();
  TorchSgd.prototype.step = function step(this: TorchSgd, grads: readonly (tf.Tensor | undefined)[]): void {
    const self = this as unknown as TorchSgdInternals;
    let s = scalars.get(this);
    if (!s) {
      s = { momentum: self.momentum ? self.momentum.dataSync()[0]! : 0, weightDecay: self.weightDecay ? self.weightDecay.dataSync()[0]! : 0 };
      scalars.set(this, s);
    }
    for (let i = 0; i < self.params.length; i++) {
      const grad = grads[i];
      if (grad === undefined) continue;
      const { variable, lr } = self.params[i]!;
      const prev = self.buffers[i];
      const r = sgdStep(variable, grad, prev, { lr, momentum: s.momentum, weightDecay: s.weightDecay });
      variable.assign(r.param);
      r.param.dispose();
      if (r.buf) {
        self.buffers[i] = tf.keep(r.buf);
        prev?.dispose();
      }
    }
  };
}
