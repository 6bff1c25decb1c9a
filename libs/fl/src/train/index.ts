export type { EvalResult, LocalTrainOptions, SgdOptions, TrainHooks, TrainResult } from './types.js';
export { trainLocal } from './sgd.js';
export { evaluate, DEFAULT_EVAL_BATCH } from './evaluate.js';
export { TorchSgd, type SgdParam } from './torch-sgd.js';
export { softmaxCrossEntropy, crossEntropySumAndCorrect } from './loss.js';
export {
  checkClientData,
  epochOrder,
  epochBatches,
  trainingBatches,
  gatherBatch,
  sliceBatch,
  type Batch,
  type BatchPlan,
  type DropLast,
} from './batches.js';
export { sgdOptionsSchema, localTrainOptionsSchema, checkTrainOptions } from './options.js';
