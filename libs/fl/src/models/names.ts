import { z } from 'zod';
import type { ModelName } from './types.js';

export const modelNames = ['fedavgcnn', 'mlp', 'logreg'] as const satisfies readonly ModelName[];

export const modelNameSchema = z.enum(modelNames, {
  error: (issue) => (issue.input === undefined
    ? `is required; set model to one of ${modelNames.join(', ')}`
    : `unknown model '${String(issue.input)}'; expected one of ${modelNames.join(', ')}`),
});

export interface ModelOptions {
  /** per-sample input shape; default [28, 28, 1] for the CNN and [784] for the dense models */
  readonly inputShape?: readonly number[];
  /** default 10 */
  readonly numClasses?: number;
}

export const modelOptionsSchema = z.object({
  inputShape: z.array(z.number().int().positive()).min(1).optional(),
  numClasses: z.number().int().min(2).optional(),
});
