import type * as tf from '@tensorflow/tfjs-core';
import { asWasm, input, release, type KernelArgs, type StockKernels, type TensorInfo } from './kernel-util.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function transposeLast2(stock: StockKernels, backend: BackendWasm, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return stock.run('Transpose', backend, { x: t }, { perm });
}

/** Plain-layout product a·b through the package's XNNPACK path. */
export function matMulPlain(stock: StockKernels, backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return stock.run('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

/**
 * The wasm package's matmul is fast only for the plain layout (XNNPACK); its transposed variants
 * fall back to slow loops. Dense-layer gradients need both (x^T·dy and dy·W^T), so rewrite them
 * into plain products plus explicit transposes, moving as few elements as possible:
 * a·bᵀ with a big b (dy·Wᵀ) is computed as (b·aᵀ)ᵀ, which transposes only the small operands.
 */
export function makeBatchMatMul(stock: StockKernels, kernel: 'BatchMatMul' | '_FusedMatMul'): tf.KernelFunc {
  return (args: KernelArgs) => {
    const backend = asWasm(args.backend);
    const attrs = args.attrs ?? {};
    const transposeA = attrs['transposeA'] === true;
    const transposeB = attrs['transposeB'] === true;
    if (!transposeA && !transposeB) return stock.run(kernel, backend, args.inputs, attrs);
    const a = input(args, 'a');
    const b = input(args, 'b');
    const plainOnly = kernel === 'BatchMatMul' && Object.keys(args.inputs).length === 2;
    if (plainOnly && !transposeA && transposeB && a.shape.length === 2 && b.shape.length === 2) {
      const [m, k] = a.shape as [number, number];
      const n = b.shape[0]!;
      // moves 2·m·k + n·m elements instead of n·k (plus the packing XNNPACK does on its weights)
      if (2 * m * k + n * m < n * k) {
        const aT = transposeLast2(stock, backend, a);
        const cT = matMulPlain(stock, backend, b, aT);
        release(backend, aT);
        const c = transposeLast2(stock, backend, cT);
        release(backend, cT);
        return c;
      }
    }
    const aT = transposeA ? transposeLast2(stock, backend, a) : undefined;
    const bT = transposeB ? transposeLast2(stock, backend, b) : undefined;
    const out = stock.run(kernel, backend, { ...args.inputs, a: aT ?? a, b: bT ?? b }, { ...attrs, transposeA: false, transposeB: false });
    release(backend, aT, bT);
    return out;
  };
}
