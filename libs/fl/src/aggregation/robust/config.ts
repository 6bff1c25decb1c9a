import { z } from 'zod';

/**
 * The optional `aggregation` block of an experiment: how the server combines the clients'
 * updates of a weighted-mean ("sum-type") algorithm. Everything acts on the update
 * u_i = (client's shared tensors) − (previous global's), coordinate-wise or by L2 norm.
 *
 * - robust: 'mean' (sample-weighted, FedAvg's), 'trimmed-mean' (drops the trimFraction largest
 *   and smallest values of every coordinate) or 'median' (coordinate-wise); the last two are
 *   unweighted, as a weight is exactly what a poisoned client would inflate;
 * - clipNorm: scales every update down to at most this L2 norm first;
 * - dp: central differential privacy (Gaussian mechanism, DP-FedAvg style): updates clipped to
 *   dp.clipNorm, unweighted mean, plus N(0, σ²) per coordinate with σ = noiseMultiplier·clipNorm/n
 *   for n clients in the round.
 */
export const robustAggregationSchema = z
  .object({
    robust: z.enum(['mean', 'trimmed-mean', 'median']).default('mean'),
    /** fraction dropped at each end of every coordinate (trimmed-mean only; default 0.1) */
    trimFraction: z.number().min(0).lt(0.5, 'must be below 0.5 (half from each end would drop everything)').optional(),
    clipNorm: z.number().positive().finite().optional(),
    dp: z
      .object({
        noiseMultiplier: z.number().min(0).finite(),
        clipNorm: z.number().positive().finite(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.trimFraction !== undefined && c.robust !== 'trimmed-mean') {
      ctx.addIssue({ code: 'custom', path: ['trimFraction'], message: `applies to robust: 'trimmed-mean' only (robust is '${c.robust}')` });
    }
    if (c.dp && c.robust !== 'mean') {
      ctx.addIssue({
        code: 'custom', path: ['dp'],
        message: `central DP noise is calibrated to the mean of clipped updates; it makes no sense with robust: '${c.robust}' (use robust: 'mean')`,
      });
    }
    if (c.dp && c.clipNorm !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['clipNorm'], message: 'with dp the clip is dp.clipNorm; remove aggregation.clipNorm' });
    }
  });

export type RobustAggregationConfig = z.infer<typeof robustAggregationSchema>;

/** Whether the block changes anything (absent or `{}` = the algorithm's own aggregation). */
export function isPlainAggregation(c: RobustAggregationConfig | undefined): boolean {
  return !c || (c.robust === 'mean' && c.clipNorm === undefined && c.dp === undefined);
}

/** σ of the Gaussian noise per coordinate for n clients in a round (0 without dp). */
export function dpNoiseStd(c: RobustAggregationConfig | undefined, clientsInRound: number): number {
  if (!c?.dp || clientsInRound <= 0) return 0;
  return (c.dp.noiseMultiplier * c.dp.clipNorm) / clientsInRound;
}
