export * from './config.js';
export * from './combine.js';
export * from './wrapper.js';
