import * as tf from '@tensorflow/tfjs-core';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { BackendName } from './types.js';
import { registerWasmTrainingKernels } from './wasm/register.js';
import type { WasmKernelMode } from './wasm/register.js';
import { registerFusedLayerKernels, registerSoftmaxCrossEntropyKernel } from './fused-layers.js';
import { loadNativeKernels, type NativeKernels } from './native/addon.js';
import { registerNativeTrainingKernels } from './native/register.js';
import { registerSgdStepKernels } from './sgd-step-kernels.js';
import { registerTfjsGradients } from './tfjs-gradients.js';
import { releaseSimdScratch, simdKernelBuild } from './wasm/simd/module.js';

/** Loads one backend and makes it tfjs's active backend; throws with the reason when it cannot. */
export interface LoadOptions {
  readonly wasmKernels: WasmKernelMode;
}
export type BackendLoader = (log: (msg: string) => void, opts: LoadOptions) => Promise<void>;

const require = createRequire(import.meta.url);

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * tfjs-node(-gpu) are optional and cannot be installed everywhere, so they are neither
 * dependencies nor statically imported: the specifier lives in a variable, which keeps TypeScript
 * from resolving (and failing on) a module that is absent.
 */
async function importOptional(pkg: string): Promise<void> {
  if (!isInstalled(pkg)) throw new Error(`package ${pkg} is not installed`);
  const specifier: string = pkg;
  await import(specifier);
}

async function activate(tfName: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    throw new Error(`tfjs backend '${tfName}' failed to initialise: ${(e as Error).message ?? String(e)}`);
  }
  if (!ok) throw new Error(`tfjs backend '${tfName}' failed to initialise (tf.setBackend returned false)`);
  await tf.ready();
}

async function loadTensorflow(pkg: string): Promise<void> {
  await importOptional(pkg);
  // Both native packages register themselves under the tfjs name 'tensorflow'.
  await activate('tensorflow');
}

async function loadWasm(log: (msg: string) => void, opts: LoadOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Under Node the backend reads the .wasm binaries from disk; point it at the package's own
  // dist directory so it works regardless of the current working directory or bundling.
  const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${distDir}/`);
  await activate('wasm');
  const registered = registerWasmTrainingKernels(opts.wasmKernels);
  registerSgdStepKernels(undefined);
  // the fused layers build on the kernels above; the stock set (bench baseline) keeps tfjs's own ops
  if (opts.wasmKernels !== 'stock') registered.push(...registerFusedLayerKernels(), ...registerSoftmaxCrossEntropyKernel());
  const build = opts.wasmKernels === 'stock' ? '' : ` (SIMD kernels: ${simdKernelBuild()} build)`;
  log(`wasm: training kernels registered: ${registered.join(', ')}${build}`);
}

/**
 * wasm plus the OpenBLAS addon. The addon is checked before the wasm backend is touched, so a
 * missing addon leaves the process free to fall back to plain wasm.
 */
let activeNative: NativeKernels | undefined;

/**
 * Gives memory the last client's training left behind back (the addon's scratch and free C-heap
 * pages, the SIMD kernels' scratch on the wasm heap). Results do not depend on it.
 */
export function releaseComputeMemory(): void {
  activeNative?.releaseMemory();
  releaseSimdScratch();
}

async function loadWasmBlas(log: (msg: string) => void, opts: LoadOptions): Promise<void> {
  const native = loadNativeKernels();
  await loadWasm(log, opts);
  const names = registerNativeTrainingKernels(native);
  registerSgdStepKernels(native);
  registerFusedLayerKernels(native);
  activeNative = native;
  const info = native.info();
  log(`wasm-blas: native kernels registered: ${names.join(', ')} (OpenBLAS ${info.blasConfig.trim()}, core ${info.blasCore}, ${info.threads} thread; convolutions: ${info.convEngine})`);
  // (the addon reads FEDSIM_NATIVE_CONV itself; this library reads no environment)
  if (info.convEngine !== 'onednn') {
    log('wasm-blas: convolutions on im2col + OpenBLAS; with oneDNN they are faster: `sudo apt-get install -y libdnnl-dev && npm run build:native`');
  }
}

async function loadCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  registerSgdStepKernels(undefined);
}

/** tfjs's gradient functions, registered once per process or thread (see tfjs-gradients.ts). */
export async function ensureGradientsRegistered(): Promise<void> {
  registerTfjsGradients();
}

export const BACKEND_LOADERS: Readonly<Record<BackendName, BackendLoader>> = {
  'tensorflow-gpu': () => loadTensorflow('@tensorflow/tfjs-node-gpu'),
  tensorflow: () => loadTensorflow('@tensorflow/tfjs-node'),
  'wasm-blas': loadWasmBlas,
  wasm: loadWasm,
  cpu: () => loadCpu(),
};
