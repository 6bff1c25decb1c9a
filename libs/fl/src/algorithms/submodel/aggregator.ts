import { changedElements, partialSumAccumulator } from '../../aggregation/partial-sum.js';
import type { SumAggregation } from '../../aggregation/partial-sum.js';
import type { ParamSpec, TensorSelector } from '../../params/spec.js';
import { scatterTensors, subSpec } from '../../params/spec.js';
import type { Aggregator, AlgorithmHooks } from '../types.js';

export interface ElementwiseOptions {
  /** η_g: θ ← θ − η_g · average delta */
  readonly serverLr: number;
  /**
   * Which elements a client holds (1 = held), laid out as the upload. When absent, a client
   * counts for exactly the elements its delta changed (Δ ≠ 0), FIARSE's rule.
   */
  readonly holders?: (clientId: number) => Uint8Array;
}

/** The element-wise sum both submodel methods declare: unweighted, over each element's holders. */
function elementwiseSum(opts: ElementwiseOptions): SumAggregation {
  const holders = opts.holders;
  return { weighted: false, holders: holders ? (u) => holders(u.clientId) : changedElements };
}

/**
 * Element-wise, unweighted averaging of delta uploads (Δ = start − trained) over the clients
 * that count for each element: per element S = Σ Δ_i, C = #{i counted}, and
 * θ ← θ − η_g · S / C where C > 0 (elements nobody counts for keep their value). Sums are
 * float64 in arrival order (client-id order, or cohort order of the workers' partials, which
 * carry C per element), so the result is independent of worker timing.
 */
export function elementwiseDeltaAggregator(
  spec: ParamSpec,
  shared: TensorSelector,
  previousGlobal: Float32Array,
  opts: ElementwiseOptions,
): Aggregator & Required<Pick<Aggregator, 'addPartial'>> {
  if (!(Number.isFinite(opts.serverLr) && opts.serverLr > 0)) {
    throw new Error(`elementwiseDeltaAggregator: serverLr must be a positive number, got ${opts.serverLr}`);
  }
  const size = subSpec(spec, shared).size;
  const total = partialSumAccumulator(size, elementwiseSum(opts));
  return {
    add: (update) => total.add(update),
    addPartial: (partial) => total.addPartial(partial),
    finish() {
      const { sum, holders: count } = total.result();
      const next = previousGlobal.slice();
      const dense = new Float32Array(size);
      let at = 0;
      for (const t of spec.tensors) {
        if (!shared(t)) continue;
        for (let j = 0; j < t.length; j++, at++) {
          const c = count![at]!;
          const old = previousGlobal[t.offset + j]!;
          dense[at] = c > 0 ? old - (opts.serverLr * sum[at]!) / c : old;
        }
      }
      scatterTensors(spec, next, shared, dense);
      return next;
    },
  };
}

/** The element-wise aggregation and its declaration, so workers may pre-sum a cohort's deltas. */
export function elementwiseDeltaAggregation(
  spec: ParamSpec,
  shared: TensorSelector,
  opts: ElementwiseOptions,
): Pick<AlgorithmHooks, 'createAggregator' | 'sumAggregation'> {
  return {
    createAggregator: (previousGlobal) => elementwiseDeltaAggregator(spec, shared, previousGlobal, opts),
    sumAggregation: elementwiseSum(opts),
  };
}
