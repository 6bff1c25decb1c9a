import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '../kernel-util.js';
import { setFlagsFromString } from 'node:v8';
import { SIMD_FMA_KERNELS_WASM_BASE64, SIMD_KERNELS_WASM_BASE64 } from './binary.js';

/** The exports of libs/fl/assembly/simd-kernels.ts; every pointer is a byte offset into tfjs's heap. */
export interface SimdKernelExports {
  gemm(M: number, N: number, K: number, a: number, ars: number, acs: number, b: number, ldb: number, c: number, crs: number, ccs: number, flags: number, bias: number, work: number): void;
  /** bytes of gemm's `work` for N columns */
  gemmWorkBytes(N: number): number;
  convForward(geometry: number, x: number, w: number, bias: number, flags: number, y: number, patches: number, block: number, work: number): void;
  convFilterGrad(geometry: number, x: number, dy: number, dw: number, patches: number, block: number, work: number): void;
  convInputGrad(geometry: number, dy: number, wT: number, dx: number, patches: number, block: number, work: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  biasReluGrad(dy: number, y: number, rows: number, cols: number, relu: number, dpre: number, db: number): void;
  maxPool2x2Grad(x: number, dy: number, dx: number, B: number, H: number, W: number, C: number): void;
  sgdStep(param: number, grad: number, buf: number, outParam: number, outBuf: number, n: number, lr: number, momentum: number, weightDecay: number): void;
}

/** gemm() flags */
export const GEMM = { accumulate: 1, relu: 2, bias: 4 } as const;

/** the WebAssembly API as far as used here (the project's type libraries do not declare it) */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** tfjs-backend-wasm's Emscripten module, as far as these kernels use it */
interface EmscriptenHeap {
  readonly asm?: { readonly memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** Which build of the kernels runs: with fused multiply-adds where the runtime has relaxed SIMD. */
export type SimdKernelBuild = 'relaxed-simd' | 'simd128';

let chosen: { build: SimdKernelBuild; bytes: Uint8Array } | undefined;

/**
 * The relaxed-SIMD build when the runtime accepts it: Node 22 and later do by default, Node 20's
 * V8 behind a flag, which is set here (wasm features are read when a module is compiled, so the
 * flag takes effect for this process and its threads). Otherwise the plain build.
 */
function chooseBuild(): { build: SimdKernelBuild; bytes: Uint8Array } {
  if (chosen) return chosen;
  const fma = buildBytes('relaxed-simd');
  if (!wasmApi.validate(fma)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  chosen = wasmApi.validate(fma) ? { build: 'relaxed-simd', bytes: fma } : { build: 'simd128', bytes: buildBytes('simd128') };
  return chosen;
}

function buildBytes(build: SimdKernelBuild): Uint8Array {
  return Buffer.from(build === 'relaxed-simd' ? SIMD_FMA_KERNELS_WASM_BASE64 : SIMD_KERNELS_WASM_BASE64, 'base64');
}

/**
 * Restricts this process to the plain build ('simd128') or lets it pick ('auto'). Must come
 * before the kernels are first used; asking for another build after that is an error.
 */
export function selectSimdKernelBuild(want: 'auto' | 'simd128'): void {
  if (want === 'auto') return;
  if (chosen && chosen.build !== want) {
    throw new Error(`wasm kernels: the ${chosen.build} build is already in use in this process; select '${want}' before the first training step`);
  }
  chosen = { build: 'simd128', bytes: buildBytes('simd128') };
}

/** The build the kernels use in this process (decided on first use). */
export function simdKernelBuild(): SimdKernelBuild {
  return chooseBuild().build;
}

/**
 * The SIMD kernels instantiated over the wasm backend's own memory, with a grow-only scratch
 * area allocated from the backend's allocator (freed by release()).
 */
export class SimdKernels {
  readonly k: SimdKernelExports;
  private scratchPtr = 0;
  private scratchBytes = 0;
  /** 16 int32 for a convolution's geometry, allocated once */
  private readonly geometryPtr: number;

  /** `build` picks one explicitly (tests compare them); by default the process's choice */
  constructor(readonly backend: BackendWasm, build?: SimdKernelBuild) {
    const memory = this.heap().asm?.memory;
    if (!memory) throw new Error('wasm kernels: this version of @tensorflow/tfjs-backend-wasm does not expose its memory (Module.asm.memory); the SIMD kernels need it (FEDSIM_WASM_KERNELS=stock runs without them)');
    const bytes = build ? buildBytes(build) : chooseBuild().bytes;
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    this.k = instance.exports as unknown as SimdKernelExports;
    this.geometryPtr = this.malloc(64);
  }

  private malloc(bytes: number): number {
    const p = this.heap()._malloc(bytes);
    if (!p) throw new Error(`wasm kernels: the backend's heap could not allocate ${bytes} bytes of scratch (out of memory)`);
    return p;
  }

  private heap(): EmscriptenHeap {
    return this.backend.wasm as unknown as EmscriptenHeap;
  }

  /** where a tensor's data starts on the heap */
  ptr(t: TensorInfo): number {
    return this.backend.dataIdMap.get(t.dataId)!.memoryOffset;
  }

  /** a scratch area of at least `bytes` (valid until the next call) */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      // grow geometrically so a run's varying batch sizes settle on one allocation
      const size = Math.max(bytes, Math.ceil(this.scratchBytes * 1.5));
      this.release();
      this.scratchPtr = this.malloc(size);
      this.scratchBytes = size;
    }
    return this.scratchPtr;
  }

  /** writes 13 int32 of convolution geometry and returns where */
  geometry(values: Int32Array): number {
    new Int32Array(this.heap().asm!.memory!.buffer, this.geometryPtr, values.length).set(values);
    return this.geometryPtr;
  }

  /** gives the scratch area back to the backend's allocator */
  release(): void {
    if (this.scratchPtr) this.heap()._free(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
  }
}

let active: SimdKernels | undefined;

/** The kernels for this backend instance (one per process or compute thread). */
export function simdKernelsFor(backend: BackendWasm): SimdKernels {
  if (active?.backend !== backend) active = new SimdKernels(backend);
  return active;
}

/** Frees the kernels' scratch (between clients); a no-op before the first use. */
export function releaseSimdScratch(): void {
  active?.release();
}
