import { z } from 'zod';

/**
 * Client capacities for model-heterogeneous FL (FIARSE, HeteroFL): each client can train the
 * β-sized submodel of its capacity class. Classes are given as (β, share of clients) and clients
 * are assigned in index order, as the FIARSE reference code does, so the assignment is a pure
 * function of the config and the number of clients: coordinator, workers and the aggregation
 * all agree without storing it.
 */

/** Same alphabet as the transports' pool names (queue-name suffixes). */
const POOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Shares may be written rounded (0.333 × 3); anything further off 1 is a typo. */
const SHARE_SUM_TOLERANCE = 1e-3;

export const capacityClassSchema = z
  .object({
    /** fraction of the model this class trains, in (0, 1] */
    beta: z.number().gt(0).max(1),
    /** fraction of the clients in this class; the shares sum to 1 */
    share: z.number().gt(0).max(1),
    /** worker pool serving this class when routing by capacity; default `beta-<β with '.' → '_'>` */
    pool: z.string().regex(POOL_NAME, "1-64 letters, digits, '_' or '-'").optional(),
  })
  .strict();
export type CapacityClass = z.infer<typeof capacityClassSchema>;

/** The FIARSE paper's reference setting: four sizes, a quarter of the clients each. */
export const DEFAULT_CAPACITIES: readonly CapacityClass[] = [
  { beta: 1, share: 0.25 },
  { beta: 1 / 4, share: 0.25 },
  { beta: 1 / 16, share: 0.25 },
  { beta: 1 / 64, share: 0.25 },
];

export const capacitiesSchema = z
  .array(capacityClassSchema)
  .min(1)
  .superRefine((classes, ctx) => {
    const seen = new Set<number>();
    for (const [i, c] of classes.entries()) {
      if (seen.has(c.beta)) ctx.addIssue({ code: 'custom', path: [i, 'beta'], message: `β = ${c.beta} is listed twice` });
      seen.add(c.beta);
    }
    const sum = classes.reduce((s, c) => s + c.share, 0);
    if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) {
      ctx.addIssue({ code: 'custom', message: `the shares must sum to 1, they sum to ${sum}` });
    }
  })
  .default(() => DEFAULT_CAPACITIES.map((c) => ({ ...c })));

/** The extra sizes evaluated by default to show the nesting (FIARSE spec, "Evaluation"). */
export const DEFAULT_UNTRAINED_SIZES: readonly number[] = [1 / 256, 1 / 128, 1 / 32, 1 / 2];

export const evalSizesSchema = z
  .array(z.number().gt(0).max(1))
  .default(() => [...DEFAULT_UNTRAINED_SIZES])
  .describe('sizes evaluated besides the trained ones (results `size_<β>`)');

/** The pool name a capacity class routes to unless the config names one. */
export function defaultPoolName(beta: number): string {
  return `beta-${String(beta).replace('.', '_')}`;
}

/** Result name of an evaluation at size β, e.g. `size_0.25`. */
export const sizeResultName = (beta: number): string => `size_${beta}`;
/** Result name of the own-size evaluation of the clients of capacity β, e.g. `local_0.25`. */
export const localResultName = (beta: number): string => `local_${beta}`;

export interface CapacityPlan {
  readonly classes: readonly CapacityClass[];
  /** how many clients each class has, in class order */
  readonly counts: readonly number[];
  classOf(clientId: number): number;
  betaOf(clientId: number): number;
  poolOf(clientId: number): string;
}

/**
 * Client counts per class: ⌊share·N⌋ each, the remaining clients going to the largest
 * fractional parts (earlier classes first on ties), so the counts always sum to N.
 */
export function classCounts(shares: readonly number[], numClients: number): number[] {
  const total = shares.reduce((s, x) => s + x, 0);
  const exact = shares.map((s) => (s / total) * numClients);
  const counts = exact.map((x) => Math.floor(x + 1e-9));
  let left = numClients - counts.reduce((s, c) => s + c, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - counts[i]! })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % byRemainder.length, left--) counts[byRemainder[j]!.i]!++;
  return counts;
}

/** Assigns clients 0..N−1 to the classes in order: the first counts[0] clients to class 0, and so on. */
export function capacityPlan(classes: readonly CapacityClass[], numClients: number): CapacityPlan {
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new Error(`capacityPlan: numClients must be a positive integer, got ${numClients}`);
  }
  if (classes.length === 0) throw new Error('capacityPlan: capacities must list at least one (beta, share) class');
  const counts = classCounts(
    classes.map((c) => c.share),
    numClients,
  );
  const ends: number[] = [];
  counts.reduce((acc, c) => (ends.push(acc + c), acc + c), 0);
  const classOf = (clientId: number): number => {
    if (!Number.isInteger(clientId) || clientId < 0 || clientId >= numClients) {
      throw new Error(`client id ${clientId} is outside 0..${numClients - 1}`);
    }
    return ends.findIndex((end) => clientId < end);
  };
  return {
    classes,
    counts,
    classOf,
    betaOf: (clientId) => classes[classOf(clientId)]!.beta,
    poolOf: (clientId) => {
      const c = classes[classOf(clientId)]!;
      return c.pool ?? defaultPoolName(c.beta);
    },
  };
}

/** Every size a client evaluates: the trained ones and the extra ones, largest first, no repeats. */
export function evaluationSizes(classes: readonly CapacityClass[], extra: readonly number[]): number[] {
  return [...new Set([...classes.map((c) => c.beta), ...extra])].sort((a, b) => b - a);
}
