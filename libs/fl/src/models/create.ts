import { formatIssues } from '../util/zod-issues.js';
import { createFedAvgCnn } from './fedavgcnn.js';
import { createLogReg } from './logreg.js';
import { createMlp } from './mlp.js';
import { modelNameSchema, modelOptionsSchema, type ModelOptions } from './names.js';
import type { ModelDef, ModelName } from './types.js';

const DEFAULT_CLASSES = 10;
const DEFAULT_INPUT: Readonly<Record<ModelName, readonly number[]>> = {
  fedavgcnn: [28, 28, 1],
  mlp: [784],
  logreg: [784],
};

/** Builds a model by name; the defaults are Fashion-MNIST's (28×28×1 or 784 features, 10 classes). */
export function createModel(name: ModelName, opts: ModelOptions = {}): ModelDef {
  const named = modelNameSchema.safeParse(name);
  if (!named.success) throw new Error(`createModel: ${named.error.issues[0]?.message ?? `invalid model name '${String(name)}'`}`);
  const model = named.data;
  const parsed = modelOptionsSchema.safeParse(opts);
  if (!parsed.success) throw new Error(`createModel('${model}'): invalid options: ${formatIssues(parsed.error)}`);
  const inputShape = parsed.data.inputShape ?? DEFAULT_INPUT[model];
  const numClasses = parsed.data.numClasses ?? DEFAULT_CLASSES;
  switch (model) {
    case 'fedavgcnn':
      return createFedAvgCnn(inputShape, numClasses);
    case 'mlp':
      return createMlp(inputShape, numClasses);
    case 'logreg':
      return createLogReg(inputShape, numClasses);
  }
}
