import type { ClientData } from '../data/types.js';
import type { ModelDef } from '../models/types.js';
import { createLayerStackTrainer } from '../compute/layer-stack.js';
import { releaseComputeMemory } from '../compute/backends.js';
import { gatherInto, trainingBatches } from './batches.js';
import { EventLoopYielder } from './event-loop.js';
import type { LocalTrainOptions, TrainResult } from './types.js';

/**
 * trainLocal's loop for a model that declares its forward as a plain layer stack and hooks that
 * only scale learning rates, run without tfjs's engine (compute/layer-stack.ts): the same batches, kernels, loss sum
 * and update order, so the same bytes as the taped loop. Undefined where the backend cannot run
 * it; the caller then takes the taped loop.
 */
export async function trainLayerStack(
  model: ModelDef,
  start: Float32Array,
  data: ClientData,
  opts: LocalTrainOptions,
  scales: readonly number[],
): Promise<TrainResult | undefined> {
  const layers = model.layerStack;
  if (!layers || scales.every((s) => s === 0)) return undefined;
  const tensors = model.spec.tensors;
  const trainer = createLayerStackTrainer({
    layers,
    inputShape: model.inputShape,
    shapes: tensors.map((t) => t.shape),
    values: tensors.map((t) => start.subarray(t.offset, t.offset + t.length)),
    lrs: scales.map((s) => (s === 0 ? null : opts.sgd.lr * s)),
    momentum: opts.sgd.momentum,
    weightDecay: opts.sgd.weightDecay,
  });
  if (!trainer) return undefined;
  try {
    // float32 running sum, as the taped loop adds the step losses on the backend
    let lossSum = 0;
    let steps = 0;
    let samplesSeen = 0;
    const yielder = new EventLoopYielder();
    for (const indices of trainingBatches({ n: data.n, ...opts })) {
      await yielder.maybeYield();
      const ce = trainer.step(indices.length, (xs, ys) => gatherInto(data, indices, xs, ys));
      lossSum = Math.fround(lossSum + ce);
      steps++;
      samplesSeen += indices.length;
    }
    const params = new Float32Array(model.spec.size);
    tensors.forEach((t, i) => {
      // frozen tensors are copied from the start, bit-identical by construction
      params.set(scales[i] === 0 ? start.subarray(t.offset, t.offset + t.length) : trainer.read(i), t.offset);
    });
    return { params, loss: steps > 0 ? lossSum / steps : 0, steps, samplesSeen };
  } finally {
    trainer.dispose();
    releaseComputeMemory();
  }
}
