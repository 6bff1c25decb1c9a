export * from './params/spec.js';
