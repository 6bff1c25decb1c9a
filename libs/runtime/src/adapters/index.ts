export { LocalDirBlobStore } from './blob/local-dir.js';
export { S3BlobStore, type S3BlobStoreOptions, type S3Credentials } from './blob/s3.js';
export { parseS3Env } from './blob/s3-env.js';
export { InvalidBlobKeyError, assertValidKey, assertValidPrefix } from './blob/keys.js';
export { EmbeddedTransport, EMBEDDED_QUEUE, type EmbeddedTransportOptions } from './embedded/embedded-transport.js';
export * from './bullmq/index.js';
export { type QueueDepth, type QueueDepthSource, type QueueState, QUEUE_STATES } from './queue-depth.js';
export { consoleLogger, silentLogger, toLogger, type AdapterLogger, type LogSink } from './logger.js';
export { deadlineError } from './child-failure.js';
export { maskSecrets } from './redact.js';
export {
  blobStoreProbe, checkDependencies, dependencyReadiness, DependenciesUnavailableError, redisProbe, type DependencyProbe,
} from './dependencies.js';
