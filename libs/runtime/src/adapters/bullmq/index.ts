export { BullmqTransport, type BullmqTransportOptions } from './transport.js';
export { startBullmqWorkers, type BullmqWorkersHandle, type BullmqWorkersOptions } from './workers.js';
export { checkRedis, describeRedis, type RedisConnectionInput } from './connection.js';
export { DEFAULT_KEY_PREFIX, DEFAULT_POOL, namePartSchema, queueNames, type QueueNames } from './naming.js';
export { DEFAULT_RETENTION, type Retention } from './job-options.js';
export * from './schedules.js';
export {
  isRedisConnectionError, REDIS_OUTAGE_BUDGET_SETTING, RedisOutageBudgetExceededError, redisOutageBudgetSecondsSchema, RedisOutageWatch,
  type RedisOutageWatchOptions,
} from './redis-outage.js';
