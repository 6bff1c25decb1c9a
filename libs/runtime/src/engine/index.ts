// The engine's building blocks beyond the package entry point: blob encodings, state packs and their location blocks and
// JSON documents in the store, for tests and tools that inspect a run's store.
export * from './blobs.js';
export * from './json-blobs.js';
export * from './client-state/pack.js';
export * from './client-state/shards.js';
export * from './run-record.js';
