import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs, TensorInfo } from './kernel-util.js';

/** The attributes tfjs passes to its Conv2D, FusedConv2D and both backprop kernels. */
export type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
};

type Shape4 = [number, number, number, number];

/** The geometry of an NHWC, undilated convolution; undefined for layouts the fast kernels leave to others. */
export function convInfo(xShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo | undefined {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  if (format !== 'channelsLast') return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    [...xShape] as Shape4, [...filterShape] as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, format,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  return info;
}

/** B H W C OH OW O KH KW SH SW padTop padLeft: the order both the addon and the SIMD kernels read. */
export function convDims(i: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.of(
    i.batchSize, i.inHeight, i.inWidth, i.inChannels, i.outHeight, i.outWidth, i.outChannels,
    i.filterHeight, i.filterWidth, i.strideHeight, i.strideWidth, i.padInfo.top, i.padInfo.left,
  );
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A fused kernel's bias and activation when they are the simple kind: a per-output-channel bias
 * and linear or relu. Anything else (prelu, leaky relu, broadcast biases) is left to the stock kernels.
 */
export function simpleEpilogue(args: KernelArgs, outChannels: number): { bias: TensorInfo | undefined; relu: boolean } | undefined {
  const activation = (args.attrs?.['activation'] as string | undefined) ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  if (args.inputs['preluActivationWeights']) return undefined;
  const bias = args.inputs['bias'];
  if (bias && sizeOf(bias.shape) !== outChannels) return undefined;
  return { bias, relu: activation === 'relu' };
}
