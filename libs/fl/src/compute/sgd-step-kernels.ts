import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SGD_STEP, SGD_STEP_ALL, sgdStepArrays, type SgdStepOptions } from './sgd-step.js';
import type { NativeKernels } from './native/addon.js';

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

/** Below this size one JS pass beats four SIMD passes (each paying its call overhead). */
const WASM_LOOP_MAX = 8192;

/**
 * wasm without the addon: small tensors in one JS pass, large ones through the package's SIMD
 * binary kernels, still one engine kernel (no tape, tracking or scalar uploads per op).
 */
function sgdStepWasmOps(backend: BackendWasm, param: tf.TensorInfo, grad: tf.TensorInfo, buf: tf.TensorInfo | undefined, o: SgdStepOptions): tf.TensorInfo[] {
  const op = (name: string, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm kernel ${name} is not registered`);
    return k.kernelFunc({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
  };
  const temps: tf.TensorInfo[] = [];
  const scalar = (v: number) => {
    const t = backend.makeOutput([], 'float32');
    (backend.typedArrayFromHeap(t) as Float32Array)[0] = v;
    temps.push(t);
    return t;
  };
  const temp = (t: tf.TensorInfo) => {
    temps.push(t);
    return t;
  };
  try {
    const g = o.weightDecay !== 0 ? op('Add', grad, temp(op('Multiply', param, scalar(o.weightDecay)))) : grad;
    if (g !== grad && o.momentum === 0) temps.push(g);
    let d = g;
    let newBuf: tf.TensorInfo | undefined;
    if (o.momentum !== 0) {
      if (buf) {
        newBuf = op('Add', temp(op('Multiply', buf, scalar(o.momentum))), g);
        if (g !== grad) temps.push(g);
      } else if (g !== grad) {
        newBuf = g;
      } else {
        // the first buffer is a copy of the gradient: share its (immutable) data
        backend.incRef(grad.dataId);
        newBuf = { dataId: grad.dataId, shape: [...grad.shape], dtype: grad.dtype };
      }
      d = newBuf;
    }
    const next = op('Sub', param, temp(op('Multiply', d, scalar(o.lr))));
    return newBuf ? [next, newBuf] : [next];
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** wasm: outputs allocated on the heap first (allocation may move it), then one pass over views. */
export function makeSgdStepWasm(native: NativeKernels | undefined): tf.KernelFunc {
  return (args: Args) => {
    const backend = args.backend as BackendWasm;
    const { param, grad, buf, o } = parts(args);
    if (!native && tf.util.sizeFromShape(param.shape) > WASM_LOOP_MAX) return sgdStepWasmOps(backend, param, grad, buf, o);
    const outP = backend.makeOutput(param.shape, 'float32');
    const outBuf = o.momentum !== 0 ? backend.makeOutput(param.shape, 'float32') : undefined;
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const b = buf ? view(buf) : null;
    const ob = outBuf ? view(outBuf) : null;
    if (native) native.sgdStep(view(param), view(grad), b, view(outP), ob, o.lr, o.momentum, o.weightDecay);
    else sgdStepArrays(view(param), view(grad), b, view(outP), ob, o);
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
