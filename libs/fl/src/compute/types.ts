/** Compute backends in order of preference; the first that loads wins (logged at start-up). */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface ComputeInfo {
  readonly backend: BackendName;
  /** what was tried and why it was skipped, for the start-up log */
  readonly tried: readonly { readonly backend: BackendName; readonly reason: string }[];
}
