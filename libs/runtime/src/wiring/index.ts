export * from './runtimes.js';
export * from './store-config.js';
export * from './create-store.js';
export * from './worker-thread-entry.js';
export type { WorkerThreadData } from './worker-thread.js';
