import { z } from 'zod';
import type { LocalTrainOptions } from './types.js';

/** Schemas for LocalTrainOptions, for configs and job payloads that carry training settings. */
export const sgdOptionsSchema = z.object({
  lr: z.number().finite().nonnegative(),
  momentum: z.number().finite().min(0),
  weightDecay: z.number().finite().min(0),
});

export const localTrainOptionsSchema = z.object({
  sgd: sgdOptionsSchema,
  batchSize: z.number().int().positive(),
  epochs: z.number().int().nonnegative(),
  iterations: z.number().int().nonnegative().optional(),
  seed: z.number().int(),
  dropLast: z.boolean().optional(),
});

/** Throws an error naming the offending field; called at the top of trainLocal. */
export function checkTrainOptions(opts: LocalTrainOptions): void {
  const r = localTrainOptionsSchema.safeParse(opts);
  if (!r.success) throw new Error(`trainLocal: invalid options: ${z.prettifyError(r.error)}`);
}
