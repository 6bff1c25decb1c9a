import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * What the proxy does to traffic while a fault is on:
 * - refuse: stops listening (new connections get ECONNREFUSED) and drops open ones;
 * - reset: accepts, then resets every connection at once (ECONNRESET);
 * - delay: forwards every chunk, in order, `ms` late (slow responses);
 * - blackhole: accepts and swallows everything, never answers (a silent service);
 * - cut: forwards `afterBytes` bytes of each response, then drops the connection mid-transfer;
 * - http-error: answers each new request with HTTP `status` (default 503) and closes.
 */
export type Fault =
  | { readonly kind: 'refuse' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'cut'; readonly afterBytes: number }
  | { readonly kind: 'http-error'; readonly status?: number };

export interface FaultProxy {
  /** tcp address of the proxy, e.g. 127.0.0.1:4321 */
  readonly host: string;
  readonly port: number;
  /** `scheme://127.0.0.1:<port>` */
  url(scheme: string): string;
  /** Turns `fault` on now; with `forMs`, back to normal forwarding after that long. */
  inject(fault: Fault, forMs?: number): void;
  /** Back to normal forwarding (and listening) now. */
  heal(): Promise<void>;
  /** Resolves when the current timed fault has ended. */
  healed(): Promise<void>;
  /** connections accepted so far, for assertions that traffic went through the proxy */
  readonly connections: number;
  /** chunks forwarded late by a delay fault so far, for assertions that the fault bit */
  readonly delayedChunks: number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
  /** bytes sent to the client since the fault started */
  responseBytes: number;
}

/**
 * A loopback TCP proxy in front of one upstream (s3rver, redis-server) that injects faults for a
 * set time. Faults act on connections already open too, so pooled keep-alive sockets cannot
 * slip past them.
 */
export async function startFaultProxy(upstream: { host: string; port: number }): Promise<FaultProxy> {
  let fault: Fault | undefined;
  let healTimer: NodeJS.Timeout | undefined;
  let healWaiters: Array<() => void> = [];
  let accepted = 0;
  const counters = { delayedChunks: 0 };
  const pairs = new Set<Pair>();

  const dropAll = () => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    pairs.clear();
  };

  const onConnection = (client: Socket) => {
    accepted++;
    client.on('error', () => undefined);
    if (fault?.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'http-error') {
      answerHttpError(client, fault.status ?? 503);
      return;
    }
    const upstreamSocket = fault?.kind === 'blackhole' ? undefined : createConnection(upstream);
    const pair: Pair = { client, upstream: upstreamSocket, responseBytes: 0 };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstreamSocket?.destroy();
    };
    client.on('close', end);
    if (!upstreamSocket) {
      client.on('data', () => undefined);
      return;
    }
    forward(client, upstreamSocket, () => fault, counters, (chunk) => chunk);
    const toClient = forward(upstreamSocket, client, () => fault, counters, (chunk) => {
      const f = fault;
      if (f?.kind !== 'cut') return chunk;
      const room = f.afterBytes - pair.responseBytes;
      pair.responseBytes += chunk.length;
      if (room <= 0) {
        end();
        return undefined;
      }
      if (room < chunk.length) {
        client.write(chunk.subarray(0, room), () => end());
        return undefined;
      }
      return chunk;
    });
    // What the upstream sent before closing still reaches the client, late if a delay is on.
    const endAfterDrain = () => void toClient.drained().then(end);
    upstreamSocket.on('error', endAfterDrain);
    upstreamSocket.on('close', endAfterDrain);
  };

  let server: Server = createServer(onConnection);
  await listen(server, 0);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('fault proxy: no address');
  const port = address.port;

  const stopListening = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });

  const heal = async () => {
    clearTimeout(healTimer);
    healTimer = undefined;
    const was = fault;
    fault = undefined;
    if (was?.kind === 'refuse' && !server.listening) {
      server = createServer(onConnection);
      await listen(server, port);
    }
    const waiters = healWaiters;
    healWaiters = [];
    for (const w of waiters) w();
  };

  return {
    host: '127.0.0.1',
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    get connections() {
      return accepted;
    },
    get delayedChunks() {
      return counters.delayedChunks;
    },
    inject(next, forMs) {
      clearTimeout(healTimer);
      fault = next;
      for (const p of pairs) p.responseBytes = 0;
      if (next.kind === 'refuse') {
        void stopListening();
        dropAll();
      } else if (next.kind === 'reset' || next.kind === 'http-error' || next.kind === 'blackhole') {
        // Open connections would otherwise keep working; new ones get the fault.
        dropAll();
      }
      if (forMs !== undefined) healTimer = setTimeout(() => void heal(), forMs);
    },
    heal,
    healed: () => (fault === undefined ? Promise.resolve() : new Promise<void>((resolve) => healWaiters.push(resolve))),
    async close() {
      clearTimeout(healTimer);
      fault = undefined;
      dropAll();
      await stopListening();
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Pipes `from` into `to`, keeping chunk order when a delay is on; `transform` may shorten or
 * swallow a chunk (undefined = nothing to write).
 */
function forward(
  from: Socket,
  to: Socket,
  currentFault: () => Fault | undefined,
  counters: { delayedChunks: number },
  transform: (chunk: Buffer) => Buffer | undefined,
): { drained(): Promise<void> } {
  let queue = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    const f = currentFault();
    if (f?.kind === 'blackhole') return;
    const delayMs = f?.kind === 'delay' ? f.ms : 0;
    if (delayMs > 0) counters.delayedChunks++;
    queue = queue.then(async () => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const out = transform(chunk);
      if (out && !to.destroyed) to.write(out);
    });
  });
  from.on('end', () => {
    queue = queue.then(() => {
      if (!to.destroyed) to.end();
    });
  });
  return { drained: () => queue };
}

function answerHttpError(client: Socket, status: number): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${status === 503 ? 'ServiceUnavailable' : 'InternalError'}</Code>`
    + '<Message>injected by the fault proxy</Message></Error>';
  // Answer once the request has started arriving, as a real overloaded server would.
  client.once('data', () => {
    client.end(`HTTP/1.1 ${status} Injected\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `Connection: close\r\n\r\n${body}`);
  });
}
