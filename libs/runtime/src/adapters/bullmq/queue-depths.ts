import type { Queue } from 'bullmq';
import { QUEUE_STATES } from '../queue-depth.js';
import type { QueueDepth } from '../queue-depth.js';

export async function readQueueDepths(queues: readonly Queue[]): Promise<QueueDepth[]> {
  const counts = await Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES)));
  return queues.flatMap((q, i) => QUEUE_STATES.map((state) => ({ queue: q.name, state, count: counts[i]?.[state] ?? 0 })));
}
