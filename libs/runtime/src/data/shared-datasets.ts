import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import type { ImageDatasetInit } from '@fedsim/fl/data';

/**
 * One copy of an image data set per process: the main thread loads it into SharedArrayBuffers
 * and hands the compute threads views of them over a BroadcastChannel, instead of every thread
 * reading, gunzipping and keeping its own ~55 MB (Fashion-MNIST) plus the ~100 MB of buffers that
 * loading goes through. A thread whose main thread does not answer (it never loaded this module)
 * loads the files itself, as before.
 */

const CHANNEL = 'fedsim:image-datasets';
/** how long a thread waits for the main thread to acknowledge a request before loading itself */
const ACK_MS = 2000;

type Request = { readonly type: 'want'; readonly id: string; readonly opts: unknown };
type Reply =
  | { readonly type: 'ack'; readonly id: string }
  | { readonly type: 'have'; readonly id: string; readonly init: ImageDatasetInit }
  | { readonly type: 'failed'; readonly id: string; readonly error: { readonly name: string; readonly message: string; readonly path?: string } };

/** A Uint8Array over a SharedArrayBuffer (the pooled pixels and labels of a shared data set). */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/**
 * Main thread: answers the threads' requests with `load(opts)`, whose arrays must be shared.
 * The channel is unref'd: it does not keep the process alive.
 */
export function serveSharedDatasets(load: (opts: unknown) => Promise<ImageDatasetInit>): void {
  if (!isMainThread) return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.onmessage = (ev: unknown) => {
    const msg = (ev as { data?: Partial<Request> }).data;
    if (msg?.type !== 'want' || typeof msg.id !== 'string') return;
    const id = msg.id;
    const reply = (r: Reply) => channel.postMessage(r);
    reply({ type: 'ack', id });
    load(msg.opts).then(
      (init) => reply({ type: 'have', id, init }),
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        const path = (err as { path?: unknown }).path;
        reply({ type: 'failed', id, error: { name: err.name, message: err.message, ...(typeof path === 'string' ? { path } : {}) } });
      },
    );
  };
}

let requests = 0;

/**
 * Worker thread: the data set from the main thread, or undefined when no main thread serves them
 * (then the caller loads it itself). A load error on the main thread is thrown here, rebuilt by
 * `rebuild` (so it keeps its class and actionable message).
 */
export function requestSharedDataset(
  opts: unknown,
  rebuild: (e: { name: string; message: string; path?: string }) => Error,
): Promise<ImageDatasetInit | undefined> {
  if (isMainThread) return Promise.resolve(undefined);
  const channel = new BroadcastChannel(CHANNEL);
  const id = `${threadId}:${++requests}`;
  return new Promise<ImageDatasetInit | undefined>((resolve, reject) => {
    const noAnswer = setTimeout(() => resolve(undefined), ACK_MS);
    channel.onmessage = (ev: unknown) => {
      const msg = (ev as { data?: Partial<Reply> }).data;
      if (!msg || msg.id !== id) return;  // another thread's conversation
      if (msg.type === 'ack') clearTimeout(noAnswer);
      else if (msg.type === 'have' && msg.init) resolve(msg.init);
      else if (msg.type === 'failed' && msg.error) reject(rebuild(msg.error));
    };
    channel.postMessage({ type: 'want', id, opts } satisfies Request);
  }).finally(() => channel.close());
}
