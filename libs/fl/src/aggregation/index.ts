export * from './robust/index.js';
export * from './partial-sum.js';
