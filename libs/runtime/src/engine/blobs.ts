import type { ClientState, Instruction } from '@fedsim/fl/algorithms';
import type { ParamSpec } from '@fedsim/fl';
import { decodeBlob, decodeParams, encodeBlob, encodeParams } from '@fedsim/fl/params';

/** Typed encoders for the engine's blob kinds, so every reader checks the kind and layout. */
export const encodeModel = (spec: ParamSpec, values: Float32Array, meta: Record<string, number | string> = {}) =>
  encodeParams(spec, values, meta);
export const decodeModel = (bytes: Uint8Array, spec: ParamSpec): Float32Array => decodeParams(bytes, spec).values;

export function encodeState(state: ClientState, meta: Record<string, number | string>): Uint8Array {
  return encodeBlob({ kind: 'client-state', meta, arrays: { ...state } });
}

export function decodeState(bytes: Uint8Array): ClientState {
  const blob = decodeBlob(bytes, 'client-state');
  const out: Record<string, Float32Array> = {};
  for (const [name, arr] of Object.entries(blob.arrays)) {
    if (!(arr instanceof Float32Array)) throw new Error(`client state entry '${name}' is not float32`);
    out[name] = arr;
  }
  return out;
}

export function encodeInstruction(instruction: Instruction): Uint8Array {
  return encodeBlob({ kind: 'instruction', meta: { ...instruction.meta }, arrays: { ...instruction.arrays } });
}

export function decodeInstruction(bytes: Uint8Array): Instruction {
  const blob = decodeBlob(bytes, 'instruction');
  const arrays: Record<string, Float32Array | Uint32Array> = {};
  for (const [name, arr] of Object.entries(blob.arrays)) {
    if (!(arr instanceof Float32Array || arr instanceof Uint32Array)) {
      throw new Error(`instruction entry '${name}' must be float32 or uint32`);
    }
    arrays[name] = arr;
  }
  return { meta: blob.meta, arrays };
}

/** Index of the first non-finite element, or −1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}
