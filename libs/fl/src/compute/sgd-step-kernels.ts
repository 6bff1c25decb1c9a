import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SGD_STEP, SGD_STEP_ALL, sgdStepArrays, type SgdStepOptions } from './sgd-step.js';
import type { NativeKernels } from './native/addon.js';
import { simdKernelsFor } from './wasm/simd/module.js';

type Args = Parameters<tf.KernelFunc>[0];

function parts(args: Args): { param: tf.TensorInfo; grad: tf.TensorInfo; buf: tf.TensorInfo | undefined; o: SgdStepOptions } {
  const { param, grad, buf } = args.inputs;
  if (!param || !grad) throw new Error(`${SGD_STEP}: inputs param and grad are required`);
  const a = args.attrs ?? {};
  return { param, grad, buf, o: { lr: a['lr'] as number, momentum: a['momentum'] as number, weightDecay: a['weightDecay'] as number } };
}

interface CpuData {
  data: { get(id: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The reference cpu backend: plain loops over its value arrays. */
export function sgdStepCpu(args: Args): tf.TensorInfo[] {
  const backend = args.backend as CpuData;
  const { param, grad, buf, o } = parts(args);
  const vals = (t: tf.TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
  const n = tf.util.sizeFromShape(param.shape);
  const outP = new Float32Array(n);
  const outBuf = o.momentum !== 0 ? new Float32Array(n) : null;
  sgdStepArrays(vals(param), vals(grad), buf ? vals(buf) : null, outP, outBuf, o);
  const res = [backend.makeTensorInfo(param.shape, 'float32', outP)];
  if (outBuf) res.push(backend.makeTensorInfo(param.shape, 'float32', outBuf));
  return res;
}

/** wasm: outputs allocated on the heap first (allocation may move it), then one pass: the SIMD kernel, or the addon over views. */
export function makeSgdStepWasm(native: NativeKernels | undefined): tf.KernelFunc {
  return (args: Args) => {
    const backend = args.backend as BackendWasm;
    const { param, grad, buf, o } = parts(args);
    const outP = backend.makeOutput(param.shape, 'float32');
    const outBuf = o.momentum !== 0 ? backend.makeOutput(param.shape, 'float32') : undefined;
    if (!native) {
      const simd = simdKernelsFor(backend);
      simd.k.sgdStep(simd.ptr(param), simd.ptr(grad), buf ? simd.ptr(buf) : 0, simd.ptr(outP), outBuf ? simd.ptr(outBuf) : 0,
        tf.util.sizeFromShape(param.shape), o.lr, o.momentum, o.weightDecay);
      return outBuf ? [outP, outBuf] : [outP];
    }
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const b = buf ? view(buf) : null;
    const ob = outBuf ? view(outBuf) : null;
    native.sgdStep(view(param), view(grad), b, view(outP), ob, o.lr, o.momentum, o.weightDecay);
    return outBuf ? [outP, outBuf] : [outP];
  };
}

/** Runs the backend's per-tensor step kernel for every tensor named p<i>, g<i>, b<i> (outputs in order). */
function makeSgdStepAll(backendName: string): tf.KernelFunc {
  return (args: Args) => {
    const step = tf.getKernel(SGD_STEP, backendName)?.kernelFunc;
    if (!step) throw new Error(`${SGD_STEP_ALL}: ${SGD_STEP} is not registered on ${backendName}`);
    const a = args.attrs ?? {};
    const lrs = a['lrs'] as number[];
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < (a['count'] as number); i++) {
      const { [`p${i}`]: param, [`g${i}`]: grad, [`b${i}`]: buf } = args.inputs;
      const r = step({
        inputs: buf ? { param: param!, grad: grad!, buf } : { param: param!, grad: grad! },
        backend: args.backend,
        attrs: { lr: lrs[i]!, momentum: a['momentum'] as number, weightDecay: a['weightDecay'] as number },
      });
      outs.push(...(Array.isArray(r) ? r : [r]));
    }
    return outs;
  };
}

function register(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

export function registerSgdStepKernels(native: NativeKernels | undefined): void {
  register(SGD_STEP, 'cpu', sgdStepCpu as unknown as tf.KernelFunc);
  register(SGD_STEP, 'wasm', makeSgdStepWasm(native));
  for (const b of ['cpu', 'wasm']) register(SGD_STEP_ALL, b, makeSgdStepAll(b));
}
