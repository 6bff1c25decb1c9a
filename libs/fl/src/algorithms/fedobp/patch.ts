import type { Instruction, JsonValue } from '../types.js';
import { quantileInPlace } from './quantile.js';
import type { Candidates, Normalised } from './score.js';

/**
 * A client's personalisation patch: the elements of P_i (flat indices into the full parameter
 * layout, ascending) and θ_i_last's values there. The worker applies it to the shared θ_g.
 */
export interface Patch {
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

export interface PatchPlan {
  readonly patch: Patch;
  /** τ in normalised-score units; null when no threshold was needed (q = 0, or every score flat) */
  readonly threshold: number | null;
  /** personalised elements per tensor name (tensors with none are left out) */
  readonly byTensor: Readonly<Record<string, number>>;
}

/**
 * P_i = {k : N_k > τ}, τ = quantile(N over the candidates not forced shared, q), and the patch
 * taking θ_i_last at P_i. q = 0 personalises every candidate: with a strict ">" the minimum
 * element(s) would otherwise stay shared, and the spec's endpoint is Local-only exactly.
 */
export function planPatch(cands: Candidates, norm: Normalised, q: number, last: Float32Array): PatchPlan {
  const { values, forcedShared } = norm;
  if (values.length !== cands.size) {
    throw new Error(`fedobp: score vector has ${values.length} elements, the candidates have ${cands.size}`);
  }
  const tensors = cands.tensors;
  const everything = q === 0;
  let threshold: number | null = null;
  if (!everything) {
    let population = 0;
    for (let i = 0; i < tensors.length; i++) if (!forcedShared[i]) population += tensors[i]!.length;
    if (population > 0) {
      const scratch = new Float32Array(population);
      let at = 0;
      let from = 0;
      for (let i = 0; i < tensors.length; i++) {
        const len = tensors[i]!.length;
        if (!forcedShared[i]) {
          scratch.set(values.subarray(from, from + len), at);
          at += len;
        }
        from += len;
      }
      threshold = quantileInPlace(scratch, q);
    }
  }

  // Per tensor: is it personalised wholesale (q = 0), not at all, or element by element above τ?
  const mode = tensors.map((_, i): 'all' | 'none' | 'above' =>
    everything ? 'all' : threshold === null || forcedShared[i] ? 'none' : 'above',
  );
  const tau = threshold ?? Infinity;
  // Two passes (count, then fill) so the patch arrays are allocated at their exact size.
  const counts = new Array<number>(tensors.length).fill(0);
  let total = 0;
  let from = 0;
  for (let i = 0; i < tensors.length; i++) {
    const len = tensors[i]!.length;
    let n = 0;
    if (mode[i] === 'all') n = len;
    else if (mode[i] === 'above') for (let j = from; j < from + len; j++) if (values[j]! > tau) n++;
    counts[i] = n;
    total += n;
    from += len;
  }
  const indices = new Uint32Array(total);
  const patchValues = new Float32Array(total);
  const byTensor: Record<string, number> = {};
  let at = 0;
  from = 0;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    if (counts[i]! > 0) {
      byTensor[t.name] = counts[i]!;
      const all = mode[i] === 'all';
      for (let j = 0; j < t.length; j++) {
        if (!all && !(values[from + j]! > tau)) continue;
        indices[at] = t.offset + j;
        patchValues[at] = last[t.offset + j]!;
        at++;
      }
    }
    from += t.length;
  }
  return { patch: { indices, values: patchValues }, threshold, byTensor };
}

/** θ̃_i: a copy of θ_g with the patch's elements replaced. */
export function applyPatch(global: Float32Array, patch: Patch): Float32Array {
  checkPatch(patch, global.length);
  const out = global.slice();
  const { indices, values } = patch;
  for (let i = 0; i < indices.length; i++) out[indices[i]!] = values[i]!;
  return out;
}

/** Bytes of the patch's payload (u32 index + f32 value per element), without the blob header. */
export const patchPayloadBytes = (patch: Patch): number => patch.indices.byteLength + patch.values.byteLength;

export function patchInstruction(patch: Patch, meta: Readonly<Record<string, JsonValue>>): Instruction {
  return { meta, arrays: { indices: patch.indices, values: patch.values } };
}

export function patchFromInstruction(instruction: Instruction, modelSize: number): Patch {
  const { indices, values } = instruction.arrays;
  if (!(indices instanceof Uint32Array)) throw new Error("fedobp: instruction entry 'indices' is missing or not uint32");
  if (!(values instanceof Float32Array)) throw new Error("fedobp: instruction entry 'values' is missing or not float32");
  const patch = { indices, values };
  checkPatch(patch, modelSize);
  return patch;
}

function checkPatch(patch: Patch, size: number): void {
  if (patch.indices.length !== patch.values.length) {
    throw new Error(
      `fedobp: patch has ${patch.indices.length} indices but ${patch.values.length} values`,
    );
  }
  for (let i = 0; i < patch.indices.length; i++) {
    if (patch.indices[i]! >= size) {
      throw new Error(`fedobp: patch index ${patch.indices[i]} is outside the model (${size} elements)`);
    }
  }
}
