import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { ParamSpec } from '../params/spec.js';
import { selectAll, selectNone } from '../params/spec.js';
import type { TrainHooks } from '../train/types.js';
import { fedAvgHooks, sgdFit } from './base.js';
import type { Algorithm } from './types.js';

export const fedproxOptions = z
  .object({
    /** weight of the proximal term (μ/2)‖θ − θ_g‖² */
    mu: z.number().finite().min(0).default(0.01),
  })
  .strict();
export type FedProxOptions = z.infer<typeof fedproxOptions>;

/**
 * The proximal term (μ/2)‖θ − anchor‖² over the trainable tensors, as a TrainHooks.extraLoss.
 * `anchor` holds one tensor per spec entry; the caller owns (and disposes) them.
 */
export function proximalLoss(mu: number, anchor: readonly tf.Tensor[]): NonNullable<TrainHooks['extraLoss']> {
  return (vars) => {
    const terms = vars.flatMap((v, i) => (v.trainable ? [tf.sum(tf.squaredDifference(v, anchor[i]!))] : []));
    return tf.mul(terms.length > 0 ? tf.addN(terms) : tf.scalar(0), mu / 2) as tf.Scalar;
  };
}

function tensorsOf(spec: ParamSpec, params: Float32Array): tf.Tensor[] {
  return spec.tensors.map((t) => tf.tensor(params.subarray(t.offset, t.offset + t.length), [...t.shape]));
}

/** Li et al. 2020: FedAvg whose local loss is pulled towards θ_g by (μ/2)‖θ − θ_g‖². */
export const fedprox: Algorithm<FedProxOptions> = {
  name: 'fedprox',
  summary: 'FedProx: FedAvg with the proximal term (μ/2)‖θ − θ_g‖² in the local loss',
  options: fedproxOptions,
  aggregatesByWeightedMean: true,
  create(env, { mu }) {
    const base = fedAvgHooks(env, { personal: selectNone, shared: selectAll });
    // μ = 0 is plain FedAvg: skipping the hook keeps it bit-identical and saves the extra work.
    if (mu === 0) return base;
    return {
      ...base,
      async fit(input) {
        const anchor = tensorsOf(env.model.spec, input.global);
        try {
          return await sgdFit(env, input, { extraLoss: proximalLoss(mu, anchor) });
        } finally {
          tf.dispose(anchor);
        }
      },
    };
  },
};
