import type { UpdateForAggregation } from '../algorithms/types.js';

/**
 * One cohort's share of a weighted-sum aggregation: Σ wᵢ·xᵢ in float64 over its accepted clients
 * (added in ascending client id) and Σ wᵢ. Summing the partials of a round in cohort order gives
 * the round's weighted sum; with one client per cohort, bit for bit the sum of the updates.
 */
export interface PartialSum {
  readonly sum: Float64Array;
  readonly weight: number;
  /** accepted clients summed in */
  readonly clients: number;
}

/** Sums accepted updates into a partial (worker side) or partials into a round's total (aggregation). */
export interface PartialSumAccumulator {
  add(update: UpdateForAggregation): void;
  addPartial(partial: PartialSum): void;
  result(): PartialSum;
}

/**
 * `weighted`: each update weighs its sample count (FedAvg); otherwise 1 (FedBABU's unweighted body).
 * Refuses an update of the wrong size or a non-positive weight, naming the client.
 */
export function partialSumAccumulator(size: number, weighted: boolean): PartialSumAccumulator {
  const sum = new Float64Array(size);
  let weight = 0;
  let clients = 0;
  return {
    add({ values, numSamples, clientId }) {
      if (values.length !== size) {
        throw new Error(`update of client ${clientId} has ${values.length} elements, expected ${size}`);
      }
      const w = weighted ? numSamples : 1;
      if (!(w > 0)) throw new Error(`update of client ${clientId} has weight ${w}; weights must be positive`);
      weight += w;
      clients++;
      for (let i = 0; i < size; i++) sum[i]! += w * values[i]!;
    },
    addPartial(p) {
      if (p.sum.length !== size) throw new Error(`partial sum has ${p.sum.length} elements, expected ${size}`);
      if (!(p.weight >= 0) || !Number.isInteger(p.clients) || p.clients < 0) {
        throw new Error(`partial sum has weight ${p.weight} over ${p.clients} clients`);
      }
      weight += p.weight;
      clients += p.clients;
      for (let i = 0; i < size; i++) sum[i]! += p.sum[i]!;
    },
    result: () => ({ sum, weight, clients }),
  };
}
