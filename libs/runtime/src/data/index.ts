export * from './config.js';
export * from './load-image.js';
export * from './load.js';
export * from './partition-files.js';
