import type * as tf from '@tensorflow/tfjs-core';
import { asWasm, type KernelArgs, type StockKernels } from './kernel-util.js';
import { matMulShape, simpleEpilogue } from './kernel-shapes.js';
import { makeBatchMatMul } from './batch-matmul.js';
import { GEMM, simdKernelsFor } from './simd/module.js';

/**
 * BatchMatMul and _FusedMatMul (bias, ReLU) on the SIMD matmul. Its left operand is read through
 * strides, so transposeA is free; its right operand must run along the output's columns, so with
 * transposeB the smaller of the two operands is transposed into scratch first: B itself, or A
 * when the product is computed as Cᵀ = B·Aᵀ and written back transposed (the dense layers'
 * dy·Wᵀ, where W is large). Other activations and broadcast batches go to the older path.
 */
export function makeSimdMatMul(stock: StockKernels, kernel: 'BatchMatMul' | '_FusedMatMul'): tf.KernelFunc {
  const fallback = makeBatchMatMul(stock, kernel);
  return (args: KernelArgs) => {
    const backend = asWasm(args.backend);
    const { a, b, ta, tb, m, k, n, batchA, batchB, batch, outShape, simple } = matMulShape(args);
    const epilogue = kernel === '_FusedMatMul' ? simpleEpilogue(args, n) : { bias: undefined, relu: false };
    if (!epilogue || !simple) return fallback(args);

    const simd = simdKernelsFor(backend);
    const out = backend.makeOutput(outShape, 'float32');
    const flags = (epilogue.bias ? GEMM.bias : 0) | (epilogue.relu ? GEMM.relu : 0);
    const bias = epilogue.bias ? simd.ptr(epilogue.bias) : 0;
    // Cᵀ = B·Aᵀ moves only A (or nothing), but cannot take a per-column epilogue
    const transposedProduct = tb && flags === 0 && m < n;
    const moved = (!tb ? 0 : transposedProduct ? (ta ? 0 : m * k) : n * k) * 4;
    const scratch = simd.scratch(moved + simd.k.gemmWorkBytes(transposedProduct ? m : n));
    const work = scratch + moved;
    for (let i = 0; i < batch; i++) {
      const pa = simd.ptr(a) + (batchA === 1 ? 0 : i * m * k * 4);
      const pb = simd.ptr(b) + (batchB === 1 ? 0 : i * k * n * 4);
      const pc = simd.ptr(out) + i * m * n * 4;
      const [ars, acs] = ta ? [4, m * 4] : [k * 4, 4];
      if (!tb) {
        simd.k.gemm(m, n, k, pa, ars, acs, pb, n * 4, pc, n * 4, 4, flags, bias, work);
      } else if (!transposedProduct) {
        simd.k.transpose(pb, n, k, scratch);
        simd.k.gemm(m, n, k, pa, ars, acs, scratch, n * 4, pc, n * 4, 4, flags, bias, work);
      } else {
        // Cᵀ[j, i] = Σ_k B[j, k]·A[i, k]: B is read in place, A along i (as stored when ta)
        const aT = ta ? pa : scratch;
        if (!ta) simd.k.transpose(pa, m, k, scratch);
        simd.k.gemm(n, m, k, pb, k * 4, 4, aT, m * 4, pc, 4, n * 4, 0, 0, work);
      }
    }
    return out;
  };
}
