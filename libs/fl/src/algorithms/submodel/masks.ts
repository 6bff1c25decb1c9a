/**
 * Element masks over a flat parameter vector (1 = the element belongs to the submodel). A
 * submodel is simulated as the full model with the other elements zeroed: exact for the models
 * here (see the HeteroFL and FIARSE modules for why).
 */

/** A copy of `params` with every element outside the mask set to 0. */
export function applyMask(params: Float32Array, keep: Uint8Array): Float32Array {
  if (keep.length !== params.length) {
    throw new Error(`applyMask: mask has ${keep.length} elements, params ${params.length}`);
  }
  const out = new Float32Array(params.length);
  for (let i = 0; i < params.length; i++) if (keep[i] !== 0) out[i] = params[i]!;
  return out;
}

/**
 * Puts the start values back on every element outside the mask, in place. Those elements were
 * not part of the client's submodel, so whatever the optimiser did to them (weight decay,
 * momentum) must not reach the upload: their delta is exactly 0.
 */
export function restoreOutside(trained: Float32Array, start: Float32Array, keep: Uint8Array): void {
  if (trained.length !== start.length || keep.length !== start.length) {
    throw new Error(`restoreOutside: lengths differ (trained ${trained.length}, start ${start.length}, mask ${keep.length})`);
  }
  for (let i = 0; i < keep.length; i++) if (keep[i] === 0) trained[i] = start[i]!;
}

/** Number of elements in the mask. */
export function maskSize(keep: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i] !== 0) n++;
  return n;
}

/**
 * Bytes of a submodel download that carries only its elements: float32 values plus a bitmap
 * of positions over the full layout (a dense download is 4 bytes per element).
 */
export function submodelBytes(kept: number, total: number): number {
  return kept * 4 + Math.ceil(total / 8);
}
