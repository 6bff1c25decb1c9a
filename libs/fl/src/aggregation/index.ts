export * from './robust/index.js';
