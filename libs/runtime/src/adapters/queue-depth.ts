export type QueueState = 'waiting' | 'active' | 'delayed' | 'failed';
export const QUEUE_STATES: readonly QueueState[] = ['waiting', 'active', 'delayed', 'failed'];

/** One gauge sample: how many jobs a queue holds in a state (feeds `queue_jobs{queue,state}`). */
export interface QueueDepth {
  readonly queue: string;
  readonly state: QueueState;
  readonly count: number;
}

/** Anything whose queue depths the metrics code can poll. */
export interface QueueDepthSource {
  queueDepths(): Promise<QueueDepth[]>;
}
