export * from './state.js';
export * from './expand.js';
