export type * from './types.js';
export * from './errors.js';
export * from './idx.js';
export * from './image.js';
export * from './synthetic.js';
export * from './partition/index.js';
export * from './histogram.js';
export * from './manifest.js';
export * from './client-data.js';
