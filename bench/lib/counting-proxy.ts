import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Bytes that crossed the proxy since the last reset: request bodies (writes) and response bodies (reads). */
export interface ByteCounts {
  written: number;
  read: number;
  requests: number;
}

export interface CountingProxy {
  /** http://127.0.0.1:<port>, to use instead of the upstream endpoint */
  readonly endpoint: string;
  /** the counts so far, and zeroes them */
  take(): ByteCounts;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of the S3 API server that counts body bytes both ways, so a
 * benchmark sees every process's blob traffic (coordinator and worker processes) in one place.
 * Hand-rolled (a few lines of node:http) because only byte counts are wanted, not a proxy library's
 * features; the Host header is kept, so SigV4 signatures still verify upstream.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  let counts: ByteCounts = { written: 0, read: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    counts.requests++;
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => (counts.read += chunk.byteLength));
        up.pipe(res);
      },
    );
    out.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.on('data', (chunk: Buffer) => (counts.written += chunk.byteLength));
    req.pipe(out);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    take() {
      const now = counts;
      counts = { written: 0, read: 0, requests: 0 };
      return now;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
