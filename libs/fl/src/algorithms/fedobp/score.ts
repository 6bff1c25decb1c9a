import type { ParamSpec, TensorSpec } from '../../params/spec.js';

/**
 * FedOBP's element importance (docs/specs/fedobp.md "Score"): how much replacing a client's own value by the
 * global one would cost, judged from the client's drift θ_i_last − θ_g, which the server has.
 * Scores live in the "candidate layout": the candidate tensors' elements concatenated in spec
 * order (all tensors, or only the head).
 */

export type ScoreKind = 'obd' | 'sq_diff';
export type NormKind = 'global' | 'layer' | 'none';

export interface Candidates {
  /** candidate tensors in spec order */
  readonly tensors: readonly TensorSpec[];
  /** total candidate elements (length of a score vector) */
  readonly size: number;
}

export function candidatesOf(spec: ParamSpec, headOnly: boolean): Candidates {
  const tensors = spec.tensors.filter((t) => !headOnly || t.role === 'head');
  if (tensors.length === 0) {
    throw new Error('fedobp: headOnly is set but the model has no head tensors; set headOnly: false');
  }
  return { tensors, size: tensors.reduce((s, t) => s + t.length, 0) };
}

/**
 * I_k per candidate element: 'obd' = |(θ_last − θ_g)·θ_last| (first-order OBD with the drift
 * standing in for the gradient), 'sq_diff' = (θ_last − θ_g)².
 */
export function importance(
  kind: ScoreKind,
  cands: Candidates,
  last: Float32Array,
  global: Float32Array,
): Float32Array {
  const out = new Float32Array(cands.size);
  let at = 0;
  for (const t of cands.tensors) {
    const end = t.offset + t.length;
    if (kind === 'obd') {
      for (let k = t.offset; k < end; k++) out[at++] = Math.abs((last[k]! - global[k]!) * last[k]!);
    } else {
      for (let k = t.offset; k < end; k++) {
        const d = last[k]! - global[k]!;
        out[at++] = d * d;
      }
    }
  }
  return out;
}

/** The client's smoothed score: I the first time, then (1 − alpha)·I + alpha·S. */
export function emaStep(current: Float32Array, history: Float32Array | undefined, alpha: number): Float32Array {
  if (!history) return current.slice();
  if (history.length !== current.length) {
    throw new Error(
      `fedobp: stored EMA score has ${history.length} elements, the candidates have ${current.length} ` +
        '(was the run started with a different headOnly or model?)',
    );
  }
  const out = new Float32Array(current.length);
  for (let i = 0; i < out.length; i++) out[i] = (1 - alpha) * current[i]! + alpha * history[i]!;
  return out;
}

export interface Normalised {
  /** N per candidate element (candidate layout) */
  readonly values: Float32Array;
  /**
   * Per candidate tensor: true when its scores are constant under min-max normalisation
   * (max = min), so the spec treats all of its elements as shared and leaves them out of the
   * threshold's population.
   */
  readonly forcedShared: readonly boolean[];
}

/**
 * Min-max normalisation over all candidates ('global': the mask is unchanged, only τ's scale),
 * within each tensor ('layer': changes the mask), or none.
 */
export function normalise(norm: NormKind, cands: Candidates, scores: Float32Array): Normalised {
  const count = cands.tensors.length;
  if (norm === 'none') return { values: scores, forcedShared: new Array<boolean>(count).fill(false) };
  const out = new Float32Array(scores.length);
  if (norm === 'global') {
    const { min, max } = range(scores, 0, scores.length);
    if (!(max > min)) return { values: out, forcedShared: new Array<boolean>(count).fill(true) };
    rescale(scores, out, 0, scores.length, min, max);
    return { values: out, forcedShared: new Array<boolean>(count).fill(false) };
  }
  const forcedShared: boolean[] = [];
  let at = 0;
  for (const t of cands.tensors) {
    const { min, max } = range(scores, at, at + t.length);
    const flat = !(max > min);
    forcedShared.push(flat);
    if (!flat) rescale(scores, out, at, at + t.length, min, max);
    at += t.length;
  }
  return { values: out, forcedShared };
}

function range(v: Float32Array, from: number, to: number): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i++) {
    const x = v[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}

function rescale(src: Float32Array, dst: Float32Array, from: number, to: number, min: number, max: number): void {
  const span = max - min;
  for (let i = from; i < to; i++) dst[i] = (src[i]! - min) / span;
}
