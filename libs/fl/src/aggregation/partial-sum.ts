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
  /**
   * Element-wise sums only (FIARSE, HeteroFL): per element, Σ wᵢ over the clients that hold it
   * (each element is divided by its own holders' weight). Absent when every client holds every element.
   */
  readonly holders?: Float64Array;
}

/**
 * How an aggregation sums its uploads: each weighs its sample count (`weighted`) or 1; with
 * `holders`, element by element over the clients that hold each element (a submodel's elements).
 */
export interface SumAggregation {
  readonly weighted: boolean;
  /** which elements of the update its client holds (1 = held), laid out as the upload */
  readonly holders?: (update: UpdateForAggregation) => Uint8Array;
}

/** Sums accepted updates into a partial (worker side) or partials into a round's total (aggregation). */
export interface PartialSumAccumulator {
  add(update: UpdateForAggregation): void;
  addPartial(partial: PartialSum): void;
  result(): PartialSum;
}

/**
 * `weighted`: each update weighs its sample count (FedAvg); otherwise 1 (FedBABU's unweighted body).
 * Refuses an update of the wrong size or a non-positive weight, naming the client, and a partial
 * whose layout (size, holder weights or not) is not this sum's.
 */
export function partialSumAccumulator(size: number, how: SumAggregation): PartialSumAccumulator {
  const sum = new Float64Array(size);
  const holders = how.holders ? new Float64Array(size) : undefined;
  let weight = 0;
  let clients = 0;
  return {
    add(update) {
      const { values, numSamples, clientId } = update;
      if (values.length !== size) {
        throw new Error(`update of client ${clientId} has ${values.length} elements, expected ${size}`);
      }
      const w = how.weighted ? numSamples : 1;
      if (!(w > 0)) throw new Error(`update of client ${clientId} has weight ${w}; weights must be positive`);
      weight += w;
      clients++;
      if (!holders) {
        for (let i = 0; i < size; i++) sum[i]! += w * values[i]!;
        return;
      }
      const held = how.holders!(update);
      if (held.length !== size) throw new Error(`holders of client ${clientId} cover ${held.length} elements, the upload has ${size}`);
      for (let i = 0; i < size; i++) {
        if (held[i] === 0) continue;
        sum[i]! += w * values[i]!;
        holders[i]! += w;
      }
    },
    addPartial(p) {
      if (p.sum.length !== size) throw new Error(`partial sum has ${p.sum.length} elements, expected ${size}`);
      if (!(p.weight >= 0) || !Number.isInteger(p.clients) || p.clients < 0) {
        throw new Error(`partial sum has weight ${p.weight} over ${p.clients} clients`);
      }
      if ((p.holders === undefined) !== (holders === undefined) || (p.holders && p.holders.length !== size)) {
        throw new Error(holders ? `partial sum has no holder weights for its ${size} elements` : 'partial sum has holder weights, this sum has none');
      }
      weight += p.weight;
      clients += p.clients;
      for (let i = 0; i < size; i++) sum[i]! += p.sum[i]!;
      if (holders) for (let i = 0; i < size; i++) holders[i]! += p.holders![i]!;
    },
    result: () => ({ sum, weight, clients, ...(holders ? { holders } : {}) }),
  };
}

/** FIARSE's holders: a client counts for exactly the elements its delta changed (Δ ≠ 0). */
export function changedElements(update: UpdateForAggregation): Uint8Array {
  const held = new Uint8Array(update.values.length);
  for (let i = 0; i < held.length; i++) held[i] = update.values[i] !== 0 ? 1 : 0;
  return held;
}
