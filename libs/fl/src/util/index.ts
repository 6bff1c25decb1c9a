export * from './rng.js';
export * from './zod-issues.js';
