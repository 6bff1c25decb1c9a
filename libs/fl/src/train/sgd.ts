import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import type { ClientData } from '../data/types.js';
import type { ModelDef } from '../models/types.js';
import { checkClientData, gatherBatch, trainingBatches } from './batches.js';
import { softmaxCrossEntropy } from './loss.js';
import { EventLoopYielder } from './event-loop.js';
import { checkTrainOptions } from './options.js';
import { TorchSgd } from './torch-sgd.js';
import { trainLayerStack } from './layer-stack-loop.js';
import { releaseComputeMemory } from '../compute/backends.js';
import type { LocalTrainOptions, TrainHooks, TrainResult } from './types.js';

/**
 * When a forward or backward pass throws (e.g. a hook fails), tfjs skips its own tape clean-up
 * and the tensors that ops saved for the backward stay allocated. Release them the way the
 * engine does after a successful backward, unless an outer gradient is still recording.
 */
function releaseAbandonedTape(): void {
  const state = tf.engine().state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) tf.dispose(node.saved ?? []);
  state.activeTape = [];
}

function lrScales(model: ModelDef, hooks: TrainHooks): number[] {
  return model.spec.tensors.map((t) => {
    const s = hooks.lrScale ? hooks.lrScale(t) : 1;
    if (!(Number.isFinite(s) && s >= 0)) {
      throw new Error(`trainLocal: hooks.lrScale('${t.name}') returned ${s}; it must be a finite number ≥ 0`);
    }
    return s;
  });
}

/**
 * Local training of one client (docs/specs/protocol.md "Local training"): a fresh PyTorch-style SGD over
 * shuffled mini-batches of mean softmax cross-entropy, with the algorithm's hooks. Parameters
 * stay on the backend for the whole call and are read back once; `start` is not modified.
 *
 * Tensors with lrScale 0 are frozen: they take part in the forward pass but get no gradient, no
 * weight decay and no update, and are returned bit-identical. The reported loss is the mean
 * cross-entropy over the steps (without the hooks' extra loss); 0 when no step ran.
 */
export async function trainLocal(
  model: ModelDef,
  start: Float32Array,
  data: ClientData,
  opts: LocalTrainOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  checkTrainOptions(opts);
  const spec = model.spec;
  if (start.length !== spec.size) {
    throw new Error(`trainLocal: start has ${start.length} parameters, model '${model.name}' has ${spec.size}`);
  }
  checkClientData(model, data, 'trainLocal');
  const scales = lrScales(model, hooks);
  // the engine-free loop knows lrScale only: any other hook (present or added later) takes the tape
  if (Object.entries(hooks).every(([name, hook]) => hook === undefined || name === 'lrScale')) {
    const direct = await trainLayerStack(model, start, data, opts, scales);
    if (direct) return direct;
  }

  const vars = spec.tensors.map((t, i) =>
    tf.tidy(() => tf.variable(tf.tensor(start.slice(t.offset, t.offset + t.length), [...t.shape]), scales[i]! !== 0)),
  );
  const trainable = vars.filter((v) => v.trainable);
  const optimizer = new TorchSgd(
    vars.flatMap((variable, i) => (variable.trainable ? [{ variable, lr: opts.sgd.lr * scales[i]! }] : [])),
    opts.sgd,
  );
  let lossSum: tf.Scalar = tf.scalar(0);
  let steps = 0;
  let samplesSeen = 0;

  const dataLoss = (x: tf.Tensor, labels: tf.Tensor1D): tf.Scalar => {
    const used = hooks.effectiveParams ? hooks.effectiveParams(vars) : vars;
    return softmaxCrossEntropy(model.forward(used, x), labels);
  };

  /** One SGD step; returns this step's cross-entropy (the caller disposes it). */
  const step = (x: tf.Tensor, labels: tf.Tensor1D): tf.Scalar => {
    // Everything is frozen (e.g. a body-only method on a head-only model): report the loss only.
    if (trainable.length === 0) return tf.tidy(() => dataLoss(x, labels));
    let ce: tf.Scalar | undefined;
    let taped: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      taped = tf.variableGrads(() => {
        const c = dataLoss(x, labels);
        if (!hooks.extraLoss) return c;
        ce = tf.keep(c);
        return tf.add(c, hooks.extraLoss(vars));
      }, trainable);
    } catch (e) {
      ce?.dispose();
      releaseAbandonedTape();
      throw e;
    }
    const { value, grads } = taped;
    try {
      optimizer.step(trainable.map((v) => grads[v.name]));
    } finally {
      tf.dispose(grads);
      if (ce !== undefined) value.dispose();
    }
    return ce ?? value;
  };

  const yielder = new EventLoopYielder();
  try {
    for (const indices of trainingBatches({ n: data.n, ...opts })) {
      await yielder.maybeYield();
      const batch = gatherBatch(model, data, indices);
      try {
        const ce = step(batch.x, batch.labels);
        const next = tf.add(lossSum, ce) as tf.Scalar;
        ce.dispose();
        lossSum.dispose();
        lossSum = next;
      } finally {
        batch.x.dispose();
        batch.labels.dispose();
      }
      steps++;
      samplesSeen += indices.length;
    }

    const params = new Float32Array(spec.size);
    for (let i = 0; i < vars.length; i++) {
      const t = spec.tensors[i]!;
      if (!vars[i]!.trainable) {
        // Copied rather than read back, so frozen values are bit-identical by construction.
        params.set(start.subarray(t.offset, t.offset + t.length), t.offset);
      } else {
        params.set((await vars[i]!.data()) as Float32Array, t.offset);
      }
    }
    const loss = steps > 0 ? ((await lossSum.data())[0] ?? 0) / steps : 0;
    return { params, loss, steps, samplesSeen };
  } finally {
    optimizer.dispose();
    lossSum.dispose();
    tf.dispose(vars);
    // between clients: the next one should not stack its peak on this one's fragments
    releaseComputeMemory();
  }
}
