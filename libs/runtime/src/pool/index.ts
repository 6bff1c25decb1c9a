export { ThreadPoolHandlers, ThreadPoolClosedError, type ThreadPoolOptions } from './thread-pool.js';
