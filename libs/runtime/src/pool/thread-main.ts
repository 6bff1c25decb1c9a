/**
 * The body of every pool thread: loads the entry module once, builds its handlers (which keep
 * their caches for the thread's life), then runs one job at a time as the pool sends them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { UntypedJobs } from '../jobs/catalog.js';
import type { JobHandlers } from '../ports/transport.js';
import { serializeError } from './messages.js';
import type { FromThread, ThreadInit, ThreadJob, ThreadWorkerData, ToThread } from './messages.js';

const port = parentPort;
if (!port) throw new Error('thread-main must run in a worker thread');
const send = (msg: FromThread) => port.postMessage(msg);

async function loadHandlers(init: ThreadInit): Promise<JobHandlers<UntypedJobs>> {
  const mod = (await import(init.entry)) as { createHandlers?: unknown };
  if (typeof mod.createHandlers !== 'function') {
    throw new Error(`thread pool entry ${init.entry} does not export createHandlers(workerData)`);
  }
  const handlers = (await (mod.createHandlers as (data: unknown) => Promise<JobHandlers<UntypedJobs>>)(init.workerData));
  if (typeof handlers?.runChild !== 'function' || typeof handlers.runParent !== 'function') {
    throw new Error(`createHandlers() in ${init.entry} did not return JobHandlers (runChild, runParent)`);
  }
  return handlers;
}

/** Runs a job; a handler that throws instead of rejecting fails only that job, never the thread. */
async function run(handlers: JobHandlers<UntypedJobs>, job: ThreadJob, signal: AbortSignal): Promise<unknown> {
  return job.op === 'child'
    ? handlers.runChild(job.kind, job.payload, { attempt: job.attempt, jobId: job.jobId, signal })
    : handlers.runParent(job.kind, job.payload, job.outcomes);
}

try {
  const handlers = await loadHandlers((workerData as ThreadWorkerData).init);
  const aborts = new Map<number, AbortController>();
  port.on('message', (msg: ToThread) => {
    if (msg.type === 'abort') {
      aborts.get(msg.id)?.abort(new Error(msg.reason));
      return;
    }
    const controller = new AbortController();
    aborts.set(msg.id, controller);
    run(handlers, msg.job, controller.signal).then(
      (value) => send({ type: 'done', id: msg.id, value }),
      (err: unknown) => send({ type: 'failed', id: msg.id, error: serializeError(err) }),
    ).catch((err: unknown) => {
      // the value could not be cloned back to the pool
      send({ type: 'failed', id: msg.id, error: serializeError(err) });
    }).finally(() => aborts.delete(msg.id));
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'initError', error: serializeError(err) });
  port.close();
}
