export * from './runtimes.js';
export * from './store-config.js';
export * from './create-store.js';
export * from './worker-thread-entry.js';
export { createHandlers, type WorkerThreadData } from './worker-thread.js';
