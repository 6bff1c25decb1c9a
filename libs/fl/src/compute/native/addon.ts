import { createRequire } from 'node:module';

/** The N-API surface of `@fedsim/native-kernels` (declared here: the addon is optional). */
export interface NativeKernels {
  /** dims: batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padTop, padLeft */
  conv2dForward(x: Float32Array, w: Float32Array, y: Float32Array, dims: Int32Array): void;
  conv2dFilterGrad(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  conv2dInputGrad(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** dims: batch, m, n, k, transA, transB, strideA, strideB (batch strides in elements, 0 broadcasts) */
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, dims: Int32Array): void;
  biasActivation(y: Float32Array, bias: Float32Array | null, rows: number, cols: number, relu: boolean): void;
  /** dims: batch, inH, inW, channels, outH, outW, fH, fW, strideH, strideW, padTop, padLeft */
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** one SGD step (see compute/sgd-step.ts); buf and outBuf null without momentum / on the first step */
  sgdStep(p: Float32Array, grad: Float32Array, buf: Float32Array | null, outP: Float32Array, outBuf: Float32Array | null, lr: number, momentum: number, weightDecay: number): void;
  /** out = y > 0 ? dy : 0, element-wise over dy's length */
  reluGrad(dy: Float32Array, y: Float32Array, out: Float32Array): void;
  /** out[c] = Σ_r x[r, c] */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** frees the calling thread's scratch and trims the C heap (between clients) */
  releaseMemory(): void;
  setThreads(n: number): void;
  /** oneDNN convolutions on or off (im2col + sgemm); returns whether oneDNN is in use */
  setConvEngine(onednn: boolean): boolean;
  /** convEngine: 'onednn' or 'im2col'; convImpl: oneDNN's implementation name of the last convolution */
  info(): { blasConfig: string; blasCore: string; threads: number; convEngine: 'onednn' | 'im2col'; convImpl: string };
}

const ADDON_PACKAGE = '@fedsim/native-kernels';

let cached: NativeKernels | undefined;

/** Loads the addon; throws saying why (not installed, not built, OpenBLAS missing). */
export function loadNativeKernels(): NativeKernels {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let mod: unknown;
  try {
    mod = require(ADDON_PACKAGE);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${ADDON_PACKAGE}'`)) {
      throw new Error(`package ${ADDON_PACKAGE} is not installed`, { cause: e });
    }
    throw e;
  }
  const k = mod as Partial<NativeKernels>;
  for (const f of ['conv2dForward', 'conv2dFilterGrad', 'conv2dInputGrad', 'gemm', 'biasActivation', 'maxPoolGrad', 'sumRows', 'reluGrad', 'releaseMemory', 'sgdStep', 'setConvEngine', 'info'] as const) {
    if (typeof k[f] !== 'function') throw new Error(`${ADDON_PACKAGE} does not export ${f}(); rebuild it`);
  }
  cached = k as NativeKernels;
  return cached;
}
