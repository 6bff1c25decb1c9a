import type { ClientState, Instruction } from '@fedsim/fl/algorithms';
import type { ParamSpec } from '@fedsim/fl';
import type { PartialSum } from '@fedsim/fl/aggregation';
import { CodecError } from '@fedsim/fl/params';
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
export function firstNonFinite(values: Float32Array | Float64Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/**
 * A partial sum keeps its float64 sums bit for bit: the codec has no f64 arrays, so the sums
 * (and an element-wise sum's holder weights) travel as their little-endian bytes (every platform
 * fedsim runs on is little-endian).
 */
export function encodePartial(partial: PartialSum, meta: Record<string, number | string>): Uint8Array {
  const arrays: Record<string, Uint8Array> = { sum: float64Bytes(partial.sum) };
  if (partial.holders) arrays['holders'] = float64Bytes(partial.holders);
  return encodeBlob({ kind: 'partial-sum', meta: { ...meta, weight: partial.weight, clients: partial.clients }, arrays });
}

/**
 * Refuses (CodecError) a partial that is not `size` float64 sums (and holder weights exactly
 * when `holders`) with a finite, non-negative weight.
 */
export function decodePartial(bytes: Uint8Array, size: number, holders = false): PartialSum {
  const blob = decodeBlob(bytes, 'partial-sum');
  const { weight, clients } = blob.meta;
  if (typeof weight !== 'number' || !(weight >= 0) || typeof clients !== 'number' || !Number.isInteger(clients) || clients < 0) {
    throw new CodecError(`partial sum has weight ${String(weight)} over ${String(clients)} clients`, 'corrupt');
  }
  const sum = float64Array(blob.arrays['sum'], size, 'sums');
  if (!holders) {
    if ('holders' in blob.arrays) throw new CodecError('partial sum has holder weights; this algorithm sums whole updates', 'shape_mismatch');
    return { sum, weight, clients };
  }
  return { sum, weight, clients, holders: float64Array(blob.arrays['holders'], size, 'holder weights') };
}

const float64Bytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function float64Array(raw: unknown, size: number, what: string): Float64Array {
  if (!(raw instanceof Uint8Array) || raw.byteLength !== size * 8) {
    const got = raw instanceof Uint8Array ? raw.byteLength : 0;
    throw new CodecError(`partial sum holds ${got} bytes of ${what}, expected ${size} float64 values`, 'shape_mismatch');
  }
  // copied: the view into the blob need not be 8-byte aligned
  const out = new Float64Array(size);
  new Uint8Array(out.buffer).set(raw);
  return out;
}
