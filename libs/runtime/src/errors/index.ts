export * from './non-retryable.js';
export * from './transport.js';
export * from './store.js';
export * from './run.js';
export * from './observability.js';
