import * as tf from '@tensorflow/tfjs-core';
import { input, type KernelArgs, type TensorInfo } from './kernel-util.js';

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

/**
 * A fused kernel's bias and activation when they are the simple kind: a per-output-channel bias
 * and linear or relu. Anything else (prelu, leaky relu, broadcast biases) is left to the stock kernels.
 */
export function simpleEpilogue(args: KernelArgs, outChannels: number): { bias: TensorInfo | undefined; relu: boolean } | undefined {
  const activation = (args.attrs?.['activation'] as string | undefined) ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  if (args.inputs['preluActivationWeights']) return undefined;
  const bias = args.inputs['bias'];
  if (bias && tf.util.sizeFromShape(bias.shape) !== outChannels) return undefined;
  return { bias, relu: activation === 'relu' };
}

/** The operands and sizes of a BatchMatMul/_FusedMatMul call. */
export interface MatMulShape {
  readonly a: TensorInfo;
  readonly b: TensorInfo;
  readonly ta: boolean;
  readonly tb: boolean;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** products in A and in B (1: the operand is shared by every product) */
  readonly batchA: number;
  readonly batchB: number;
  readonly batch: number;
  readonly outShape: number[];
  /** float32, with equal outer shapes or one side without batch: what the fast kernels take */
  readonly simple: boolean;
}

export function matMulShape(args: KernelArgs): MatMulShape {
  const a = input(args, 'a');
  const b = input(args, 'b');
  const ta = args.attrs?.['transposeA'] === true;
  const tb = args.attrs?.['transposeB'] === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  return {
    a, b, ta, tb, m, n,
    k: ta ? a.shape[ra - 2]! : a.shape[ra - 1]!,
    batchA, batchB,
    batch: Math.max(batchA, batchB),
    outShape: [...(batchA >= batchB ? outerA : outerB), m, n],
    simple: (sameOuter || batchA === 1 || batchB === 1) && a.dtype === 'float32' && b.dtype === 'float32',
  };
}

/** Conv2DBackpropFilter's operands and geometry (undefined geometry: a layout for the stock kernels). */
export function filterGradGeometry(args: KernelArgs): { x: TensorInfo; dy: TensorInfo; info: tf.backend_util.Conv2DInfo | undefined; outShape: number[] } {
  const x = input(args, 'x');
  const attrs = args.attrs as unknown as ConvAttrs;
  return { x, dy: input(args, 'dy'), info: convInfo(x.shape, attrs.filterShape!, attrs), outShape: [...attrs.filterShape!] };
}

/** Conv2DBackpropInput's operands and geometry (undefined geometry: a layout for the stock kernels). */
export function inputGradGeometry(args: KernelArgs): { dy: TensorInfo; filter: TensorInfo; info: tf.backend_util.Conv2DInfo | undefined; outShape: number[] } {
  const filter = input(args, 'filter');
  const attrs = args.attrs as unknown as ConvAttrs;
  return { dy: input(args, 'dy'), filter, info: convInfo([...attrs.inputShape!], filter.shape, attrs), outShape: [...attrs.inputShape!] };
}

/**
 * Conv2D/FusedConv2D's operands, geometry and epilogue; undefined for what the fast kernels leave
 * to the stock ones (NCHW, dilation, other activations or biases).
 */
export function forwardConvGeometry(args: KernelArgs, fused: boolean): { x: TensorInfo; filter: TensorInfo; info: tf.backend_util.Conv2DInfo; bias: TensorInfo | undefined; relu: boolean } | undefined {
  const x = input(args, 'x');
  const filter = input(args, 'filter');
  const info = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs);
  const epilogue = fused ? simpleEpilogue(args, filter.shape[3]!) : { bias: undefined, relu: false };
  return info && epilogue ? { x, filter, info, ...epilogue } : undefined;
}
