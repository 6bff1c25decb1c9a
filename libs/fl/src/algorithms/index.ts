export * from './types.js';
export * from './base.js';
export * from './sampling.js';
export * from './registry.js';
export * from './errors.js';
