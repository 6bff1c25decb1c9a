export * from './config.js';
export * from './profiles.js';
export * from './duration.js';
export * from './availability.js';
export * from './selection.js';
export * from './fedbuff.js';
