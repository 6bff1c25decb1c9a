import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type KernelArgs = Parameters<tf.KernelFunc>[0];
export type TensorInfo = tf.TensorInfo;

export const WASM = 'wasm';

export function asWasm(backend: unknown): BackendWasm {
  return backend as BackendWasm;
}

export function input(args: KernelArgs, name: string): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`wasm kernel: missing input '${name}'`);
  return t;
}

/** A float32 view of a tensor's data on the WASM heap (no copy; invalid after the heap grows). */
export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * The kernels the wasm package registered itself, captured before any override so the fast
 * kernels can delegate to them (their setup ran when the backend initialised).
 */
export class StockKernels {
  private readonly funcs = new Map<string, tf.KernelFunc>();

  capture(name: string): void {
    if (this.funcs.has(name)) return;
    const cfg = tf.getKernel(name, WASM);
    if (cfg) this.funcs.set(name, cfg.kernelFunc);
  }

  has(name: string): boolean {
    return this.funcs.has(name);
  }

  run(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    const f = this.funcs.get(name);
    if (!f) throw new Error(`wasm kernel '${name}' is not registered`);
    const out = f({ inputs, backend, attrs });
    if (Array.isArray(out)) throw new Error(`wasm kernel '${name}' returned several outputs`);
    return out;
  }
}

/** Releases intermediate results produced inside a kernel (they are never seen by the engine). */
export function release(backend: BackendWasm, ...ts: (TensorInfo | undefined)[]): void {
  for (const t of ts) if (t) backend.disposeData(t.dataId);
}
