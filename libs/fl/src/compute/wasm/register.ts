import * as tf from '@tensorflow/tfjs-core';
import { makeConv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { makeSimdConvKernels } from './simd-conv.js';
import { makeSimdMatMul } from './simd-matmul.js';
import { selectSimdKernelBuild } from './simd/module.js';
import { StockKernels, WASM } from './kernel-util.js';
import { maxPoolGrad } from './max-pool-grad.js';
import { identity, makeCast } from './identity.js';

/**
 * 'fast' (default) registers the training kernels below, on the fastest build of the SIMD kernels
 * the runtime accepts; 'simd128' the same kernels on the plain SIMD128 build (no fused
 * multiply-add: the same bytes on every CPU); 'stock' keeps the package's own kernels and adds
 * only the missing Conv2DBackpropFilter as plain JS loops (the "before" of the benchmarks).
 */
export const WASM_KERNEL_MODES = ['fast', 'simd128', 'stock'] as const;
export type WasmKernelMode = (typeof WASM_KERNEL_MODES)[number];

const stock = new StockKernels();
let registeredMode: WasmKernelMode | undefined;

function override(kernelName: string, kernelFunc: tf.KernelFunc): void {
  stock.capture(kernelName);
  if (tf.getKernel(kernelName, WASM)) tf.unregisterKernel(kernelName, WASM);
  tf.registerKernel({ kernelName, backendName: WASM, kernelFunc });
}

/**
 * Registers the gradient kernels the wasm backend lacks or runs slowly. Must run after the wasm
 * backend initialised (the stock kernels' setup has to have happened). Idempotent.
 * Returns the names of the kernels registered.
 */
export function registerWasmTrainingKernels(mode: WasmKernelMode = 'fast'): string[] {
  if (registeredMode !== undefined) {
    if (registeredMode !== mode) throw new Error(`wasm kernels already registered in mode '${registeredMode}', cannot switch to '${mode}'`);
    return [];
  }
  for (const k of ['Transpose', 'Reshape', 'Conv2D', 'FusedConv2D', 'BatchMatMul', '_FusedMatMul', 'Conv2DBackpropInput']) stock.capture(k);
  const names: string[] = [];
  const add = (name: string, f: tf.KernelFunc) => {
    override(name, f);
    names.push(name);
  };
  if (mode === 'stock') add('Conv2DBackpropFilter', makeConv2DBackpropFilter());
  if (mode !== 'stock') {
    selectSimdKernelBuild(mode === 'simd128' ? 'simd128' : 'auto');
    for (const [name, f] of Object.entries(makeSimdConvKernels(stock))) add(name, f);
    add('BatchMatMul', makeSimdMatMul(stock, 'BatchMatMul'));
    add('_FusedMatMul', makeSimdMatMul(stock, '_FusedMatMul'));
    add('MaxPoolGrad', maxPoolGrad);
    const stockCast = tf.getKernel('Cast', WASM)?.kernelFunc;
    if (stockCast) add('Cast', makeCast(stockCast));
    add('Identity', identity);
  }
  registeredMode = mode;
  return names.map((n) => (mode === 'stock' ? `${n} (stock mode)` : n));
}
