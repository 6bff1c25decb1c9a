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
  const everything = q === 0;
  let threshold: number | null = null;
  if (!everything) {
    let population = 0;
    cands.tensors.forEach((t, i) => {
      if (!forcedShared[i]) population += t.length;
    });
    if (population > 0) {
      const scratch = new Float32Array(population);
      let at = 0;
      let from = 0;
      cands.tensors.forEach((t, i) => {
        if (!forcedShared[i]) {
          scratch.set(values.subarray(from, from + t.length), at);
          at += t.length;
        }
        from += t.length;
      });
      threshold = quantileInPlace(scratch, q);
    }
  }
  const personal = (i: number, el: number) =>
    everything || (threshold !== null && !forcedShared[i] && values[el]! > threshold);

  // Two passes (count, then fill) so the patch arrays are allocated at their exact size.
  const byTensor: Record<string, number> = {};
  let total = 0;
  let from = 0;
  cands.tensors.forEach((t, i) => {
    let n = 0;
    for (let j = 0; j < t.length; j++) if (personal(i, from + j)) n++;
    if (n > 0) byTensor[t.name] = n;
    total += n;
    from += t.length;
  });
  const indices = new Uint32Array(total);
  const patchValues = new Float32Array(total);
  let at = 0;
  from = 0;
  cands.tensors.forEach((t, i) => {
    for (let j = 0; j < t.length; j++) {
      if (!personal(i, from + j)) continue;
      indices[at] = t.offset + j;
      patchValues[at] = last[t.offset + j]!;
      at++;
    }
    from += t.length;
  });
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
