import * as tf from '@tensorflow/tfjs-core';
import '../train/gradients.js';
import { z } from 'zod';
import type { ModelDef } from '../models/types.js';
import type { ParamSpec } from '../params/spec.js';
import { selectAll, selectNone } from '../params/spec.js';
import { checkClientData, gatherBatch, trainingBatches } from '../train/batches.js';
import { evaluate } from '../train/evaluate.js';
import { softmaxCrossEntropy } from '../train/loss.js';
import { checkTrainOptions } from '../train/options.js';
import { TorchSgd } from '../train/torch-sgd.js';
import { weightedMeanAggregation } from './base.js';
import { localSamples } from '../system/duration.js';
import type {
  Algorithm,
  AlgorithmEnv,
  AlgorithmHooks,
  ClientEvaluation,
  ClientState,
  EvalInput,
  FitInput,
  FitResult,
} from './types.js';

/** Client-state entries: APFL's personal model v_i (full layout) and its mixing weight α_i (one value). */
export const APFL_PERSONAL_STATE = 'apfl.v';
export const APFL_ALPHA_STATE = 'apfl.alpha';

export const apflOptionsSchema = z
  .object({
    /** α_i before a client's first participation (Deng et al. 2020; docs/specs/baselines.md: 0.5) */
    alpha: z.number().min(0).max(1).default(0.5),
    /** step size of α_i's gradient step; absent = the experiment's lr; 0 keeps α_i fixed */
    alphaLr: z.number().finite().min(0).optional(),
  })
  .strict();
export type ApflOptions = z.infer<typeof apflOptionsSchema>;

export interface ApflPersonal {
  readonly v: Float32Array;
  readonly alpha: number;
}

/** The client's v_i and α_i: stored values, or θ_g and the initial α before its first participation. */
export function apflPersonal(
  spec: ParamSpec,
  global: Float32Array,
  state: ClientState | undefined,
  initialAlpha: number,
): ApflPersonal {
  const v = state?.[APFL_PERSONAL_STATE];
  if (v && v.length !== spec.size) {
    throw new Error(`apfl: client state '${APFL_PERSONAL_STATE}' has ${v.length} values, the model has ${spec.size}`);
  }
  const a = state?.[APFL_ALPHA_STATE];
  if (a && !(a.length === 1 && a[0]! >= 0 && a[0]! <= 1)) {
    throw new Error(`apfl: client state '${APFL_ALPHA_STATE}' must hold one value in [0, 1], got [${[...a].join(', ')}]`);
  }
  // Starting v_i at θ_g (not a fresh init) keeps the parameter-space mixture between two
  // models of the same basin; the mixture then starts equal to w.
  return { v: v ?? global, alpha: a ? a[0]! : initialAlpha };
}

/** α·v + (1 − α)·w, element by element. */
export function mixParams(v: Float32Array, w: Float32Array, alpha: number): Float32Array {
  if (v.length !== w.length) throw new Error(`mixParams: v has ${v.length} values, w has ${w.length}`);
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = alpha * v[i]! + (1 - alpha) * w[i]!;
  return out;
}

function variablesOf(model: ModelDef, flat: Float32Array): tf.Variable[] {
  return model.spec.tensors.map((t) =>
    tf.tidy(() => tf.variable(tf.tensor(flat.slice(t.offset, t.offset + t.length), [...t.shape]))),
  );
}

async function readBack(model: ModelDef, vars: readonly tf.Variable[]): Promise<Float32Array> {
  const out = new Float32Array(model.spec.size);
  for (let i = 0; i < vars.length; i++) out.set((await vars[i]!.data()) as Float32Array, model.spec.tensors[i]!.offset);
  return out;
}

/**
 * One APFL participation (Deng et al. 2020, Algorithm 1 with adaptive α), per mini-batch and all
 * at the same point (w, v, α) of the previous step:
 *   w ← w − lr·∇_w f(w)                                  (the global copy; uploaded)
 *   v ← v − lr·∇_v f(m),  m = α·v + (1 − α)·w            (= α·∇f(m); w is a constant here)
 *   α ← clip(α − lr_α·⟨v − w, ∇f(m)⟩, 0, 1)
 * w and v each get the experiment's torch-style SGD (momentum, weight decay), fresh every round;
 * α takes plain gradient steps. Batches, their order and the skipped last batch are trainLocal's.
 * The mixture is in parameter space as in the paper (FL-bench mixes logits instead). The reported
 * loss is the global copy's mean cross-entropy, comparable with FedAvg's.
 */
export async function apflFit(env: AlgorithmEnv, options: ApflOptions, input: FitInput): Promise<FitResult> {
  const { model } = env;
  const opts = { ...env.train, seed: input.seed };
  checkTrainOptions(opts);
  checkClientData(model, input.train, 'apfl');
  const start = apflPersonal(model.spec, input.global, input.state, options.alpha);

  const w = variablesOf(model, input.start);
  const v = variablesOf(model, start.v);
  const alpha = tf.tidy(() => tf.variable(tf.scalar(start.alpha)));
  const lrAlpha = tf.scalar(options.alphaLr ?? env.train.sgd.lr);
  const optW = new TorchSgd(w.map((variable) => ({ variable, lr: opts.sgd.lr })), opts.sgd);
  const optV = new TorchSgd(v.map((variable) => ({ variable, lr: opts.sgd.lr })), opts.sgd);
  let lossSum: tf.Scalar = tf.scalar(0);
  let steps = 0;

  try {
    for (const indices of trainingBatches({ n: input.train.n, ...opts })) {
      const { x, labels } = gatherBatch(model, input.train, indices);
      try {
        const own = tf.variableGrads(() => softmaxCrossEntropy(model.forward(w, x), labels), w);
        const mixed = tf.variableGrads(() => {
          const rest = tf.sub(1, alpha);
          const m = v.map((vi, i) => tf.add(tf.mul(alpha, vi), tf.mul(rest, w[i]!)));
          return softmaxCrossEntropy(model.forward(m, x), labels);
        }, [...v, alpha]);
        try {
          optW.step(w.map((p) => own.grads[p.name]));
          optV.step(v.map((p) => mixed.grads[p.name]));
          tf.tidy(() => {
            alpha.assign(tf.clipByValue(tf.sub(alpha, tf.mul(lrAlpha, mixed.grads[alpha.name]!)), 0, 1) as tf.Scalar);
          });
          const next = tf.add(lossSum, own.value) as tf.Scalar;
          lossSum.dispose();
          lossSum = next;
        } finally {
          tf.dispose([own.value, mixed.value, ...Object.values(own.grads), ...Object.values(mixed.grads)]);
        }
      } finally {
        tf.dispose([x, labels]);
      }
      steps++;
    }
    const trained = await readBack(model, w);
    const personal = await readBack(model, v);
    const alphaNow = (await alpha.data())[0] ?? start.alpha;
    const loss = steps > 0 ? ((await lossSum.data())[0] ?? 0) / steps : 0;
    return {
      trained,
      state: { [APFL_PERSONAL_STATE]: personal, [APFL_ALPHA_STATE]: Float32Array.of(alphaNow) },
      loss,
      steps,
    };
  } finally {
    optW.dispose();
    optV.dispose();
    tf.dispose([...w, ...v, alpha, lrAlpha, lossSum]);
  }
}

/** `personalized` = α_i·v_i + (1 − α_i)·θ_g (θ_g for a client that never trained), `global` = θ_g. */
export async function apflEvaluate(env: AlgorithmEnv, options: ApflOptions, input: EvalInput): Promise<ClientEvaluation> {
  const p = apflPersonal(env.model.spec, input.global, input.state, options.alpha);
  const personalized = await evaluate(env.model, mixParams(p.v, input.global, p.alpha), input.test);
  return { personalized, global: await evaluate(env.model, input.global, input.test) };
}

/**
 * APFL: θ_g is FedAvg over the clients' global copies w; each client's v_i and α_i live in its
 * server-side state (`apfl.v`, `apfl.alpha`), never uploaded or aggregated.
 */
export const apfl: Algorithm<ApflOptions> = {
  name: 'apfl',
  summary: 'APFL: FedAvg global copy + per-client personal model, evaluated as the learned mixture α·v + (1−α)·w',
  options: apflOptionsSchema,
  aggregatesByWeightedMean: true,
  create(env, options) {
    const hooks: AlgorithmHooks = {
      personal: selectNone,
      shared: selectAll,
      upload: 'model',
      hasGlobalModel: true,
      personalState: [APFL_PERSONAL_STATE],
      ...weightedMeanAggregation(env.model.spec, selectAll),
      // Every batch takes a gradient of w and one of the mixture (v, α): two passes per sample.
      localWorkSamples: (numTrain) => 2 * localSamples(numTrain, env.train),
      fit: (input) => apflFit(env, options, input),
      evaluate: (input) => apflEvaluate(env, options, input),
    };
    return hooks;
  },
};
