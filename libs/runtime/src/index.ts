export * from './ports/blob-store.js';
export * from './ports/transport.js';
