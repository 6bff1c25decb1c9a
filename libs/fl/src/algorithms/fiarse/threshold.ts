import type { ParamSpec, TensorSpec } from '../../params/spec.js';

/**
 * FIARSE's submodel extraction (spec "Submodel extraction"): the submodel of size β keeps the
 * β-fraction of maskable elements with the largest magnitude, via one threshold θ_thr = the k-th
 * largest |w| (k = ⌊β·n⌋) and the mask 1[|w| ≥ θ_thr] (ties kept). Because the mask is a
 * threshold on the same magnitudes, a smaller β gives a higher threshold and so a subset:
 * submodels are nested and any size can be cut from one global model.
 */

/** `global`: one threshold over all maskable elements (the spec's default); `layer`: one per layer. */
export type ThresholdMode = 'global' | 'layer';

/** Weights and biases of conv and linear layers; normalisation parameters (none here) never are. */
export const isMaskable = (t: TensorSpec): boolean => t.layerType === 'conv2d' || t.layerType === 'dense';

/** Tensor indices that share one threshold: every maskable tensor (global), or each layer's. */
function thresholdGroups(spec: ParamSpec, mode: ThresholdMode): number[][] {
  const maskable = spec.tensors.flatMap((t, i) => (isMaskable(t) ? [i] : []));
  const members =
    mode === 'global'
      ? [maskable]
      : [...new Set(maskable.map((i) => spec.tensors[i]!.layer))].map((layer) => maskable.filter((i) => spec.tensors[i]!.layer === layer));
  return members.filter((m) => m.length > 0);
}

/**
 * Elements a size-β submodel keeps, known before any weights are: k per threshold group plus
 * every unmaskable element (magnitude ties at θ_thr can keep a few more).
 */
export function submodelElements(spec: ParamSpec, beta: number, mode: ThresholdMode): number {
  const masked = thresholdGroups(spec, mode);
  const inGroups = new Set(masked.flat());
  let kept = 0;
  spec.tensors.forEach((t, i) => {
    if (!inGroups.has(i)) kept += t.length;
  });
  for (const g of masked) kept += keepCount(beta, g.reduce((s, i) => s + spec.tensors[i]!.length, 0));
  return kept;
}

/** k = ⌊β·n⌋, at least 1, tolerant of β·n landing a hair under an integer (0.29·100 = 28.999…). */
export function keepCount(beta: number, n: number): number {
  if (!(beta > 0 && beta <= 1)) throw new Error(`submodel size β must be in (0, 1], got ${beta}`);
  return Math.min(n, Math.max(1, Math.floor(beta * n + 1e-9)));
}

interface Group {
  readonly tensors: readonly number[];
  /** |w| of the group's elements, ascending */
  readonly sorted: Float32Array;
}

/**
 * Sorted magnitudes of one parameter vector, from which the threshold of any size is O(1).
 * Thresholds are float32 values of |w| itself, so comparing |w| ≥ θ in float32 (tfjs) or in
 * float64 (JS) gives the same mask on server and worker.
 */
export class MagnitudeIndex {
  private readonly groups: readonly Group[];

  constructor(
    readonly spec: ParamSpec,
    params: Float32Array,
    readonly mode: ThresholdMode,
  ) {
    if (params.length !== spec.size) {
      throw new Error(`MagnitudeIndex: params has ${params.length} elements, the model has ${spec.size}`);
    }
    this.groups = thresholdGroups(spec, mode).map((tensors) => {
      const n = tensors.reduce((s, i) => s + spec.tensors[i]!.length, 0);
      const sorted = new Float32Array(n);
      let at = 0;
      for (const i of tensors) {
        const t = spec.tensors[i]!;
        for (let j = 0; j < t.length; j++) sorted[at++] = Math.abs(params[t.offset + j]!);
      }
      return { tensors, sorted: sorted.sort() };
    });
  }

  /**
   * θ_thr for every spec tensor at size β, in spec order: 0 (keep everything) for β = 1 and for
   * tensors that are not maskable. β = 1 maps to 0 rather than to min |w| so that the full model
   * is the plain model (no element can drop out, and the TCB-GD factor is exactly 1).
   */
  thresholds(beta: number): number[] {
    const out = this.spec.tensors.map(() => 0);
    if (beta === 1) {
      keepCount(beta, 1); // validates β
      return out;
    }
    for (const g of this.groups) {
      const n = g.sorted.length;
      const theta = g.sorted[n - keepCount(beta, n)]!;
      for (const i of g.tensors) out[i] = theta;
    }
    return out;
  }

  /** Maskable elements in total (the `n` of the global rule). */
  get maskableCount(): number {
    return this.groups.reduce((s, g) => s + g.sorted.length, 0);
  }
}

/** 1 where |w| ≥ θ of the element's tensor (θ = 0 keeps the whole tensor, including zeros). */
export function thresholdMask(spec: ParamSpec, params: Float32Array, thresholds: readonly number[]): Uint8Array {
  checkThresholds(spec, thresholds);
  const keep = new Uint8Array(spec.size);
  spec.tensors.forEach((t, i) => {
    const theta = thresholds[i]!;
    for (let j = t.offset; j < t.offset + t.length; j++) keep[j] = theta === 0 || Math.abs(params[j]!) >= theta ? 1 : 0;
  });
  return keep;
}

export function checkThresholds(spec: ParamSpec, thresholds: readonly number[]): void {
  if (thresholds.length !== spec.tensors.length) {
    throw new Error(`fiarse: got ${thresholds.length} thresholds, the model has ${spec.tensors.length} tensors`);
  }
  thresholds.forEach((theta, i) => {
    if (!(Number.isFinite(theta) && theta >= 0)) {
      throw new Error(`fiarse: threshold of '${spec.tensors[i]!.name}' must be a finite number ≥ 0, got ${theta}`);
    }
  });
}

/**
 * A one-entry cache of the magnitude index of the last vector seen. The server prepares every
 * client of a round from the same θ_g, and a worker evaluates all clients of a round against
 * the same θ_g: comparing the values (a linear pass) is much cheaper than re-sorting them.
 */
export class MagnitudeIndexCache {
  private last: { values: Float32Array; index: MagnitudeIndex } | undefined;

  constructor(
    private readonly spec: ParamSpec,
    private readonly mode: ThresholdMode,
  ) {}

  get(params: Float32Array): MagnitudeIndex {
    const last = this.last;
    if (last && sameValues(last.values, params)) return last.index;
    const index = new MagnitudeIndex(this.spec, params, this.mode);
    this.last = { values: params.slice(), index };
    return index;
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
