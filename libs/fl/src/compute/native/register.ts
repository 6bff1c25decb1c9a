import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapF32, input, StockKernels, WASM, type KernelArgs } from '../wasm/kernel-util.js';
import type { NativeKernels } from './addon.js';
import { convDims, filterGradGeometry, forwardConvGeometry, inputGradGeometry, matMulShape, simpleEpilogue } from '../wasm/kernel-shapes.js';

type Shape4 = [number, number, number, number];

/** `fallback` holds the kernels registered before (the fast wasm set) for the cases the addon does not cover. */
function makeNativeKernels(native: NativeKernels, stock: StockKernels): Record<string, tf.KernelFunc> {
  const conv2d = (args: KernelArgs, fused: boolean) => {
    const backend = asWasm(args.backend);
    const conv = forwardConvGeometry(args, fused);
    if (!conv) return stock.run(fused ? 'FusedConv2D' : 'Conv2D', backend, args.inputs, args.attrs);
    const { x, filter, info, bias, relu } = conv;
    const out = backend.makeOutput(info.outShape, 'float32');
    const y = heapF32(backend, out);
    native.conv2dForward(heapF32(backend, x), heapF32(backend, filter), y, convDims(info));
    if (bias || relu) native.biasActivation(y, bias ? heapF32(backend, bias) : null, y.length / info.outChannels, info.outChannels, relu);
    return out;
  };

  const matMul = (args: KernelArgs, fused: boolean) => {
    const backend = asWasm(args.backend);
    const { a, b, ta, tb, m, k, n, batchA, batchB, batch, outShape, simple } = matMulShape(args);
    const epilogue = fused ? simpleEpilogue(args, n) : { bias: undefined, relu: false };
    if (!epilogue || !simple) return stock.run(fused ? '_FusedMatMul' : 'BatchMatMul', backend, args.inputs, args.attrs);
    const out = backend.makeOutput(outShape, 'float32');
    const c = heapF32(backend, out);
    native.gemm(heapF32(backend, a), heapF32(backend, b), c,
      Int32Array.of(batch, m, n, k, ta ? 1 : 0, tb ? 1 : 0, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n));
    if (epilogue.bias || epilogue.relu) {
      native.biasActivation(c, epilogue.bias ? heapF32(backend, epilogue.bias) : null, batch * m, n, epilogue.relu);
    }
    return out;
  };

  return {
    MaxPoolGrad: (args) => {
      const backend = asWasm(args.backend);
      const dy = input(args, 'dy');
      const x = input(args, 'input');
      const { filterSize, strides, pad, dimRoundingMode } = (args.attrs ?? {}) as unknown as {
        filterSize: [number, number] | number;
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      const i = tf.backend_util.computePool2DInfo(x.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
      const out = backend.makeOutput(x.shape, 'float32');
      native.maxPoolGrad(heapF32(backend, x), heapF32(backend, dy), heapF32(backend, out), Int32Array.of(
        i.batchSize, i.inHeight, i.inWidth, i.inChannels, i.outHeight, i.outWidth,
        i.effectiveFilterHeight, i.effectiveFilterWidth, i.strideHeight, i.strideWidth, i.padInfo.top, i.padInfo.left,
      ));
      return out;
    },
    Sum: (args) => {
      // bias gradients reduce over the leading (batch, spatial) axes, which the wasm kernel
      // handles by transposing the whole tensor first
      const backend = asWasm(args.backend);
      const x = input(args, 'x');
      const { axis, keepDims } = (args.attrs ?? {}) as unknown as { axis: number | number[]; keepDims: boolean };
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
      const leading = axes.every((a, i) => a === i);
      if (x.dtype !== 'float32' || axes.length === 0 || !leading) return stock.run('Sum', backend, args.inputs, args.attrs);
      const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
      const rest = x.shape.slice(axes.length);
      const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32');
      native.sumRows(heapF32(backend, x), heapF32(backend, out), rows, tf.util.sizeFromShape(rest));
      return out;
    },
    Conv2D: (args) => conv2d(args, false),
    FusedConv2D: (args) => conv2d(args, true),
    BatchMatMul: (args) => matMul(args, false),
    _FusedMatMul: (args) => matMul(args, true),
    Conv2DBackpropFilter: (args) => {
      const backend = asWasm(args.backend);
      const { x, dy, info, outShape } = filterGradGeometry(args);
      if (!info) return stock.run('Conv2DBackpropFilter', backend, args.inputs, args.attrs);
      const out = backend.makeOutput(outShape, 'float32');
      native.conv2dFilterGrad(heapF32(backend, x), heapF32(backend, dy), heapF32(backend, out), convDims(info));
      return out;
    },
    Conv2DBackpropInput: (args) => {
      const backend = asWasm(args.backend);
      const { dy, filter, info, outShape } = inputGradGeometry(args);
      if (!info) return stock.run('Conv2DBackpropInput', backend, args.inputs, args.attrs);
      const out = backend.makeOutput(outShape, 'float32');
      native.conv2dInputGrad(heapF32(backend, dy), heapF32(backend, filter), heapF32(backend, out), convDims(info));
      return out;
    },
  };
}

let registered = false;

/**
 * Replaces the wasm backend's convolution and matmul kernels (forward and gradients) with the
 * OpenBLAS addon's. Call after the wasm training kernels are registered: they stay reachable as
 * the fallback for layouts the addon does not handle. Idempotent; returns the kernel names.
 */
export function registerNativeTrainingKernels(native: NativeKernels): string[] {
  if (registered) return [];
  const previous = new StockKernels();
  const kernels = makeNativeKernels(native, previous);
  for (const [name, kernelFunc] of Object.entries(kernels)) {
    previous.capture(name);
    if (tf.getKernel(name, WASM)) tf.unregisterKernel(name, WASM);
    tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc });
  }
  registered = true;
  return Object.keys(kernels);
}
