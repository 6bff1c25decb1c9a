export * from './catalog.js';
export * from './env.js';
export * from './metrics.js';
export { startObservabilityServer, ObservabilityStartError } from './server.js';
export type { ObservabilityServer, ObservabilityServerOptions, HttpMount, PushgatewayOptions, ReadinessCheck } from './server.js';
export * from './instrument.js';
