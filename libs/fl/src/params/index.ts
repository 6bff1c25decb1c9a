export * from './spec.js';
export * from './codec.js';
