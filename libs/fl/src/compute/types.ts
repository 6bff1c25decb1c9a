/**
 * Compute backends in order of preference; the first that loads wins (logged at start-up).
 * 'wasm-blas' is the wasm backend with its heavy training kernels (conv, matmul and their
 * gradients) replaced by the optional OpenBLAS addon `@fedsim/native-kernels`. Results are
 * bit-reproducible per backend name, not across names.
 */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm-blas' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm-blas', 'wasm', 'cpu'];

export interface ComputeInfo {
  readonly backend: BackendName;
  /** what was tried and why it was skipped, for the start-up log */
  readonly tried: readonly { readonly backend: BackendName; readonly reason: string }[];
}
