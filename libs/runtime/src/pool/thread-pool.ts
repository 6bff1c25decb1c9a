import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';
import type { Jobs, JobShapes } from '../jobs/catalog.js';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../ports/transport.js';
import { deserializeError } from './messages.js';
import { ThreadPoolClosedError } from '../errors/transport.js';
import type { FromThread, ThreadInit, ThreadJob, ThreadWorkerData, ToThread } from './messages.js';

export interface ThreadPoolOptions {
  /** module exporting `createHandlers(workerData): Promise<JobHandlers>`; a URL, file URL string or path */
  readonly entry: URL | string;
  /** threads (= jobs running at once) */
  readonly size: number;
  /** passed to createHandlers in every thread (structured-cloned) */
  readonly workerData?: unknown;
  /** after an abort, how long a job may take to stop before its thread is terminated (default 5 s) */
  readonly abortGraceMs?: number;
  /** how long close() waits for running jobs before terminating threads (default 10 s) */
  readonly closeTimeoutMs?: number;
  readonly resourceLimits?: ResourceLimits;
}

export { ThreadPoolClosedError };

interface Task {
  readonly id: number;
  readonly job: ThreadJob;
  readonly label: string;
  readonly signal: AbortSignal | undefined;
  resolve(value: unknown): void;
  reject(err: Error): void;
  onAbort?: () => void;
  abortTimer?: NodeJS.Timeout;
  /** set when the pool gave up on the task (aborted/closed): a late answer is ignored */
  settled?: boolean;
}

interface PoolThread {
  readonly worker: Worker;
  ready: boolean;
  task?: Task;
  lastError?: Error;
}

/** Where thread-main lives: .ts next to this file when running from sources, .js when built. */
function threadMainUrl(): URL {
  return new URL(`./thread-main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
}

/**
 * Threads start from this CommonJS snippet rather than thread-main directly. On Node < 22.14
 * the TypeScript hooks that `--import tsx` installs do not reach worker threads (tsx only
 * registers itself in the main thread there, detected by the absence of `isInternalThread`), so
 * when running from sources the snippet registers tsx in the thread before loading thread-main.
 */
const BOOTSTRAP = `
const threads = require('node:worker_threads');
const { main, tsx } = threads.workerData.boot;
(async () => {
  if (tsx && threads.isInternalThread === undefined) (await import(tsx)).register();
  await import(main);
})();
`;

/** tsx's registration API when this process runs TypeScript sources, else undefined. */
function tsxApiHref(entry: string): string | undefined {
  const runningTs = import.meta.url.endsWith('.ts') || /\.[mc]?ts$/.test(entry);
  if (!runningTs) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

function entryHref(entry: URL | string): string {
  if (entry instanceof URL) return entry.href;
  return /^(file|data):/.test(entry) ? entry : pathToFileURL(resolvePath(entry)).href;
}

/**
 * JobHandlers that run every job in one of `size` worker threads, so CPU-heavy training never
 * blocks the event loop that renews queue locks. Each thread imports `entry` once and keeps the
 * handlers it builds (data sets, compute backend) for its life. Threads inherit the process's
 * execArgv, so under `node --import tsx` a `.ts` entry loads too.
 *
 * A job's error rejects that job with the original name and message, and stays non-retryable
 * when it was (errors/non-retryable.ts). A thread that dies takes
 * only its current job down (rejected, naming the exit) and is replaced on demand.
 */
export class ThreadPoolHandlers<J extends JobShapes = Jobs> implements JobHandlers<J> {
  private readonly init: ThreadInit;
  private readonly boot: ThreadWorkerData['boot'];
  private readonly threads = new Set<PoolThread>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readyWaiters: { resolve(): void; reject(err: Error): void }[] = [];

  constructor(private readonly options: ThreadPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new Error(`ThreadPoolHandlers: size must be an integer ≥ 1, got ${String(options.size)}`);
    }
    this.init = { entry: entryHref(options.entry), workerData: options.workerData };
    const tsx = tsxApiHref(this.init.entry);
    this.boot = { main: threadMainUrl().href, ...(tsx ? { tsx } : {}) };
  }

  runChild<K extends ChildKind>(kind: K, payload: J[K]['payload'], ctx: ChildContext): Promise<J[K]['reply']> {
    return this.submit({ op: 'child', kind, payload, attempt: ctx.attempt, jobId: ctx.jobId }, `${kind} job ${ctx.jobId}`, ctx.signal);
  }

  runParent<K extends ParentKind>(kind: K, payload: J[K]['payload'], outcomes: readonly ChildOutcome[]): Promise<J[K]['reply']> {
    return this.submit({ op: 'parent', kind, payload, outcomes }, `${kind} job`, undefined);
  }

  /** Starts every thread and resolves when all loaded the entry; rejects with the first load error. */
  async ready(): Promise<void> {
    while (this.threads.size < this.options.size) this.spawn();
    if ([...this.threads].every((t) => t.ready)) return;
    await new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  stats(): { size: number; threads: number; busy: number; queued: number } {
    const busy = [...this.threads].filter((t) => t.task).length;
    return { size: this.options.size, threads: this.threads.size, busy, queued: this.queue.length };
  }

  /** Rejects queued jobs, waits up to closeTimeoutMs for running ones, then ends every thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const task of this.queue.splice(0)) this.fail(task, new ThreadPoolClosedError());
    const deadline = Date.now() + (this.options.closeTimeoutMs ?? 10_000);
    while ([...this.threads].some((t) => t.task) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all([...this.threads].map((t) => t.worker.terminate()));
  }

  private submit(job: ThreadJob, label: string, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.closed) return Promise.reject(new ThreadPoolClosedError());
    if (signal?.aborted) return Promise.reject(abortError(signal, label));
    return new Promise((resolve, reject) => {
      const task: Task = { id: this.nextId++, job, label, signal, resolve, reject };
      if (signal) {
        task.onAbort = () => this.abort(task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (this.queue.length === 0) return;
      if (thread.ready && !thread.task) this.start(thread, this.queue.shift()!);
    }
    let starting = [...this.threads].filter((t) => !t.ready).length;
    while (this.queue.length > starting && this.threads.size < this.options.size) {
      this.spawn();
      starting++;
    }
  }

  private start(thread: PoolThread, task: Task): void {
    thread.task = task;
    const msg: ToThread = { type: 'run', id: task.id, job: task.job };
    try {
      thread.worker.postMessage(msg);
    } catch (err) {
      thread.task = undefined;
      this.fail(task, new Error(`${task.label}: could not send the job to a compute thread: ${(err as Error).message}`));
      this.dispatch();
    }
  }

  private spawn(): void {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { boot: this.boot, init: this.init } satisfies ThreadWorkerData,
      ...(this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {}),
    });
    const thread: PoolThread = { worker, ready: false };
    this.threads.add(thread);
    worker.on('message', (msg: FromThread) => this.onMessage(thread, msg));
    worker.on('error', (err) => { thread.lastError = err; });
    worker.on('exit', (code) => this.onExit(thread, code));
  }

  private onMessage(thread: PoolThread, msg: FromThread): void {
    switch (msg.type) {
      case 'ready':
        thread.ready = true;
        if ([...this.threads].every((t) => t.ready) && this.threads.size >= this.options.size) {
          for (const w of this.readyWaiters.splice(0)) w.resolve();
        }
        this.dispatch();
        return;
      case 'initError': {
        const err = deserializeError(msg.error);
        const wrapped = new Error(`compute thread could not load ${this.init.entry}: ${err.message}`, { cause: err });
        thread.lastError = wrapped;
        // Every thread would fail the same way: fail what is waiting instead of respawning forever.
        for (const task of this.queue.splice(0)) this.fail(task, wrapped);
        for (const w of this.readyWaiters.splice(0)) w.reject(wrapped);
        // The entry may have left handles open; do not wait for the thread to wind down by itself.
        void thread.worker.terminate();
        return;
      }
      case 'done':
      case 'failed': {
        const task = thread.task;
        if (!task || task.id !== msg.id) return;
        thread.task = undefined;
        if (msg.type === 'done') this.succeed(task, msg.value);
        else this.fail(task, deserializeError(msg.error));
        this.dispatch();
        return;
      }
    }
  }

  private onExit(thread: PoolThread, code: number): void {
    this.threads.delete(thread);
    const task = thread.task;
    if (task) {
      const why = task.signal?.aborted
        ? abortError(task.signal, task.label)
        : new Error(`${task.label}: compute thread exited with code ${code}${thread.lastError ? ` (${thread.lastError.message})` : ''}`);
      this.fail(task, why);
    }
    if (!thread.ready && !this.closed) {
      const err = thread.lastError ?? new Error(`compute thread exited with code ${code} before it was ready`);
      for (const w of this.readyWaiters.splice(0)) w.reject(err);
      // With no working thread left, a thread that cannot start fails what waits rather than
      // being respawned in a loop; the next submission tries again.
      if (![...this.threads].some((t) => t.ready)) {
        for (const t of this.queue.splice(0)) this.fail(t, err);
        return;
      }
    }
    if (!this.closed) this.dispatch();
  }

  private abort(task: Task): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.fail(task, abortError(task.signal!, task.label));
      return;
    }
    const thread = [...this.threads].find((t) => t.task === task);
    if (!thread) return;
    const reason = task.signal?.reason instanceof Error ? task.signal.reason.message : String(task.signal?.reason ?? 'aborted');
    thread.worker.postMessage({ type: 'abort', id: task.id, reason } satisfies ToThread);
    task.abortTimer = setTimeout(() => {
      // The job ignored the abort: end its thread (onExit rejects the job; a new thread replaces it).
      if (thread.task === task) void thread.worker.terminate();
    }, this.options.abortGraceMs ?? 5_000);
  }

  private succeed(task: Task, value: unknown): void {
    if (task.settled) return;
    this.cleanup(task);
    task.resolve(value);
  }

  private fail(task: Task, err: Error): void {
    if (task.settled) return;
    this.cleanup(task);
    task.reject(err);
  }

  private cleanup(task: Task): void {
    task.settled = true;
    clearTimeout(task.abortTimer);
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
  }
}

function abortError(signal: AbortSignal, label: string): Error {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  const err = new Error(`${label} aborted: ${reason}`);
  err.name = 'AbortError';
  return err;
}
