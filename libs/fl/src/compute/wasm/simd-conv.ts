import type * as tf from '@tensorflow/tfjs-core';
import { asWasm, type KernelArgs, type StockKernels } from './kernel-util.js';
import { convDims, filterGradGeometry, forwardConvGeometry, inputGradGeometry, type ConvAttrs } from './kernel-shapes.js';
import { GEMM, simdKernelsFor, type SimdKernels } from './simd/module.js';

/**
 * NHWC convolutions on the SIMD kernels: forward (with bias and ReLU), filter gradient and input
 * gradient, each as patch gathering plus the blocked matmul, by blocks of output positions
 * (libs/fl/assembly/simd-kernels.ts). Dilated or NCHW layouts go to the package's kernels.
 */

/** patch rows per block: a block's patch matrix stays within this many bytes */
const BLOCK_BYTES = 256 * 1024;

/** Where one call's scratch areas start: [filterᵀ] [patch block] [gemm work]. */
interface ConvScratch {
  readonly filterT: number;
  readonly patches: number;
  readonly work: number;
  readonly block: number;
}

function convScratch(simd: SimdKernels, info: tf.backend_util.Conv2DInfo, gemmColumns: number, filterT: boolean): ConvScratch {
  const window = info.filterHeight * info.filterWidth * info.inChannels;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const block = Math.max(4, Math.min(rows, Math.floor(BLOCK_BYTES / (4 * window)) & ~3));
  const filterBytes = filterT ? window * info.outChannels * 4 : 0;
  const patchBytes = block * window * 4;
  const base = simd.scratch(filterBytes + patchBytes + simd.k.gemmWorkBytes(gemmColumns));
  return { filterT: base, patches: base + filterBytes, work: base + filterBytes + patchBytes, block };
}

export function makeSimdConvKernels(stock: StockKernels): Record<string, tf.KernelFunc> {
  const forward = (args: KernelArgs, fused: boolean) => {
    const backend = asWasm(args.backend);
    const conv = forwardConvGeometry(args, fused);
    if (!conv) return stock.run(fused ? 'FusedConv2D' : 'Conv2D', backend, args.inputs, args.attrs);
    const { x, filter, info, bias, relu } = conv;
    const simd = simdKernelsFor(backend);
    const out = backend.makeOutput(info.outShape, 'float32');
    const s = convScratch(simd, info, info.outChannels, false);
    const flags = (bias ? GEMM.bias : 0) | (relu ? GEMM.relu : 0);
    simd.k.convForward(simd.geometry(convDims(info)), simd.ptr(x), simd.ptr(filter), bias ? simd.ptr(bias) : 0, flags, simd.ptr(out), s.patches, s.block, s.work);
    return out;
  };

  return {
    Conv2D: (args) => forward(args, false),
    FusedConv2D: (args) => forward(args, true),
    Conv2DBackpropFilter: (args) => {
      const backend = asWasm(args.backend);
      const { x, dy, info, outShape } = filterGradGeometry(args);
      if (!info) {
        const attrs = args.attrs as unknown as ConvAttrs;
        throw new Error(`wasm Conv2DBackpropFilter supports NHWC without dilation only, got dataFormat '${attrs.dataFormat}', dilations ${JSON.stringify(attrs.dilations ?? 1)}`);
      }
      const simd = simdKernelsFor(backend);
      const out = backend.makeOutput(outShape, 'float32');
      const s = convScratch(simd, info, info.outChannels, false);
      simd.k.convFilterGrad(simd.geometry(convDims(info)), simd.ptr(x), simd.ptr(dy), simd.ptr(out), s.patches, s.block, s.work);
      return out;
    },
    Conv2DBackpropInput: (args) => {
      const backend = asWasm(args.backend);
      const { dy, filter, info, outShape } = inputGradGeometry(args);
      if (!info) return stock.run('Conv2DBackpropInput', backend, args.inputs, args.attrs);
      const simd = simdKernelsFor(backend);
      const out = backend.makeOutput(outShape, 'float32');
      const window = info.filterHeight * info.filterWidth * info.inChannels;
      const s = convScratch(simd, info, window, true);
      simd.k.transpose(simd.ptr(filter), window, info.outChannels, s.filterT);
      simd.k.convInputGrad(simd.geometry(convDims(info)), simd.ptr(dy), s.filterT, simd.ptr(out), s.patches, s.block, s.work);
      return out;
    },
  };
}
