import type { ParamSpec, TensorSelector } from '../../params/spec.js';
import { scatterTensors, subSpec } from '../../params/spec.js';
import type { Aggregator } from '../types.js';

export interface ElementwiseOptions {
  /** η_g: θ ← θ − η_g · average delta */
  readonly serverLr: number;
  /**
   * Which elements a client holds (1 = held), laid out as the upload. When absent, a client
   * counts for exactly the elements its delta changed (Δ ≠ 0), FIARSE's rule.
   */
  readonly holders?: (clientId: number) => Uint8Array;
}

/**
 * Element-wise, unweighted averaging of delta uploads (Δ = start − trained) over the clients
 * that count for each element: per element S = Σ Δ_i, C = #{i counted}, and
 * θ ← θ − η_g · S / C where C > 0 (elements nobody counts for keep their value). Sums are
 * float64 in arrival order (client-id order), so the result is independent of worker timing.
 */
export function elementwiseDeltaAggregator(
  spec: ParamSpec,
  shared: TensorSelector,
  previousGlobal: Float32Array,
  opts: ElementwiseOptions,
): Aggregator {
  if (!(Number.isFinite(opts.serverLr) && opts.serverLr > 0)) {
    throw new Error(`elementwiseDeltaAggregator: serverLr must be a positive number, got ${opts.serverLr}`);
  }
  const upload = subSpec(spec, shared);
  const size = upload.size;
  const sum = new Float64Array(size);
  const count = new Uint32Array(size);
  return {
    add({ values, clientId }) {
      if (values.length !== size) {
        throw new Error(`update of client ${clientId} has ${values.length} elements, expected ${size}`);
      }
      if (opts.holders) {
        const held = opts.holders(clientId);
        if (held.length !== size) {
          throw new Error(`holders(${clientId}) has ${held.length} elements, the upload has ${size}`);
        }
        for (let i = 0; i < size; i++) {
          if (held[i] === 0) continue;
          sum[i]! += values[i]!;
          count[i]!++;
        }
      } else {
        for (let i = 0; i < size; i++) {
          const v = values[i]!;
          if (v === 0) continue;
          sum[i]! += v;
          count[i]!++;
        }
      }
    },
    finish() {
      const next = previousGlobal.slice();
      const dense = new Float32Array(size);
      let at = 0;
      for (const t of spec.tensors) {
        if (!shared(t)) continue;
        for (let j = 0; j < t.length; j++, at++) {
          const c = count[at]!;
          const old = previousGlobal[t.offset + j]!;
          dense[at] = c > 0 ? old - (opts.serverLr * sum[at]!) / c : old;
        }
      }
      scatterTensors(spec, next, shared, dense);
      return next;
    },
  };
}
