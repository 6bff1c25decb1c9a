import { z } from 'zod';
import { BACKEND_PREFERENCE, WASM_KERNEL_MODES } from '@fedsim/fl/compute';
import type { InitComputeOptions } from '@fedsim/fl/compute';

const computeEnvSchema = z.object({
  FEDSIM_BACKEND: z.enum(['auto', ...BACKEND_PREFERENCE]).default('auto'),
  FEDSIM_WASM_KERNELS: z.enum(WASM_KERNEL_MODES).default('fast'),
});

/** The bench scripts' compute settings: FEDSIM_BACKEND and FEDSIM_WASM_KERNELS, validated. */
export function computeOptionsFromEnv(env: NodeJS.ProcessEnv): Pick<InitComputeOptions, 'prefer' | 'preferFrom' | 'wasmKernels'> {
  const e = computeEnvSchema.parse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  return { prefer: e.FEDSIM_BACKEND, preferFrom: 'env FEDSIM_BACKEND', wasmKernels: e.FEDSIM_WASM_KERNELS };
}
