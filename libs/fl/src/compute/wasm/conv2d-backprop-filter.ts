import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapF32, input, type KernelArgs, type TensorInfo } from './kernel-util.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function convInfoOf(x: TensorInfo, attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format,
  );
}

/**
 * Direct loops in JS: any stride and padding, the "stock" baseline (the benchmarks' before) and
 * the reference the SIMD kernel is checked against.
 */
export function conv2DBackpropFilterDirect(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const dw = heapF32(backend, out);
  const xv = heapF32(backend, x);
  const dyv = heapF32(backend, dy);
  dw.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        const dyOff = ((b * outHeight + i) * outWidth + j) * outChannels;
        for (let p = 0; p < filterHeight; p++) {
          const r = i * strideHeight + p - padInfo.top;
          if (r < 0 || r >= inHeight) continue;
          for (let q = 0; q < filterWidth; q++) {
            const c0 = j * strideWidth + q - padInfo.left;
            if (c0 < 0 || c0 >= inWidth) continue;
            const xOff = ((b * inHeight + r) * inWidth + c0) * inChannels;
            const wOff = (p * filterWidth + q) * inChannels * outChannels;
            for (let c = 0; c < inChannels; c++) {
              const a = xv[xOff + c]!;
              if (a === 0) continue;
              const w = wOff + c * outChannels;
              for (let o = 0; o < outChannels; o++) dw[w + o]! += a * dyv[dyOff + o]!;
            }
          }
        }
      }
    }
  }
  return out;
}

/** The stock-mode Conv2DBackpropFilter (the wasm package ships none): direct loops. */
export function makeConv2DBackpropFilter(): tf.KernelFunc {
  return (args: KernelArgs) => {
    const backend = asWasm(args.backend);
    const x = input(args, 'x');
    return conv2DBackpropFilterDirect(backend, x, input(args, 'dy'), convInfoOf(x, args.attrs ?? {}));
  };
}
