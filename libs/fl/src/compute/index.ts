import { BACKEND_LOADERS, ensureGradientsRegistered } from './backends.js';
import type { LoadOptions } from './backends.js';
export { releaseComputeMemory } from './backends.js';
import { BACKEND_PREFERENCE, type BackendName, type ComputeInfo } from './types.js';
import type { WasmKernelMode } from './wasm/register.js';

export { WASM_KERNEL_MODES, type WasmKernelMode } from './wasm/register.js';

export * from './types.js';
export { sgdStep, SGD_STEP, type SgdStepOptions, type SgdStepResult } from './sgd-step.js';

export interface InitComputeOptions {
  /** a specific backend (fails loudly if it cannot load) or 'auto' (first that loads); default 'auto' */
  readonly prefer?: BackendName | 'auto';
  /** where `prefer` came from, named in its error (e.g. 'env FEDSIM_BACKEND'); default 'initCompute({ prefer })' */
  readonly preferFrom?: string;
  /** wasm training kernels: fedsim's (default 'fast'; 'simd128' without fused multiply-add) or the package's own ('stock', for benchmarks) */
  readonly wasmKernels?: WasmKernelMode;
  readonly log?: (msg: string) => void;
}

/** Printed when auto selection lands on a slow backend: how to get the native kernels. */
export const FASTER_BACKEND_HINT =
  'training runs on the pure-npm path; for 2-3x faster training install the native kernels: ' +
  '`sudo apt-get install -y libopenblas-dev libdnnl-dev g++ make && npm run build:native` (docs/performance.md)';

let initialised: Promise<ComputeInfo> | undefined;
let active: BackendName | undefined;

function parseChoice(value: string, source: string): BackendName | 'auto' {
  const v = value.trim();
  if (v === 'auto' || (BACKEND_PREFERENCE as readonly string[]).includes(v)) return v as BackendName | 'auto';
  throw new Error(`${source}: unknown compute backend '${value}'; expected one of auto, ${BACKEND_PREFERENCE.join(', ')}`);
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

async function select(choice: BackendName | 'auto', log: (msg: string) => void, load: LoadOptions): Promise<ComputeInfo> {
  const tried: { backend: BackendName; reason: string }[] = [];
  await ensureGradientsRegistered();
  if (choice !== 'auto') {
    try {
      await BACKEND_LOADERS[choice](log, load);
    } catch (e) {
      throw new Error(`compute backend '${choice}' was requested but cannot be loaded: ${errorMessage(e)}`, { cause: e });
    }
    log(`compute backend: ${choice} (requested explicitly)`);
    return { backend: choice, tried };
  }
  for (const backend of BACKEND_PREFERENCE) {
    try {
      await BACKEND_LOADERS[backend](log, load);
    } catch (e) {
      tried.push({ backend, reason: errorMessage(e) });
      continue;
    }
    const skipped = tried.map((t) => `${t.backend} (${t.reason})`).join('; ');
    log(`compute backend: ${backend}${skipped ? `; skipped ${skipped}` : ''}`);
    if (backend === 'wasm' || backend === 'cpu') log(FASTER_BACKEND_HINT);
    return { backend, tried };
  }
  throw new Error(`no compute backend could be loaded: ${tried.map((t) => `${t.backend}: ${t.reason}`).join('; ')}`);
}

/**
 * Picks and activates the tfjs backend for this process (or worker thread: each has its own
 * module instance). Idempotent: later calls return the first call's result, whatever they ask for.
 * The caller decides the backend (apps read FEDSIM_BACKEND and pass it as `prefer`).
 */
export function initCompute(opts: InitComputeOptions = {}): Promise<ComputeInfo> {
  if (initialised) return initialised;
  const log = opts.log ?? ((msg: string) => console.log(msg));
  let choice: BackendName | 'auto';
  try {
    choice = parseChoice(opts.prefer ?? 'auto', opts.preferFrom ?? 'initCompute({ prefer })');
  } catch (e) {
    return Promise.reject(e);
  }
  const pending = select(choice, log, { wasmKernels: opts.wasmKernels ?? 'fast' }).then((info) => {
    active = info.backend;
    return info;
  });
  // A failed attempt must not poison the process: let the caller retry (e.g. with another prefer).
  initialised = pending.catch((e: unknown) => {
    initialised = undefined;
    throw e;
  });
  return initialised;
}

/** The backend chosen by `initCompute`, for metrics labels; throws before initialisation. */
export function computeBackendName(): BackendName {
  if (active === undefined) throw new Error('computeBackendName() called before initCompute() finished');
  return active;
}
