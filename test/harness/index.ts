export { startRedis, type RedisHandle } from './redis.js';
export { startS3, type S3Handle } from './s3.js';
export { freePort, randomSuffix } from './net.js';
export { startPrometheus, type PrometheusHandle, type PromRule, type PromSeries } from './prometheus.js';
