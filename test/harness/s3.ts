import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomSuffix } from './net.js';

export interface S3Handle {
  /** http://127.0.0.1:<port>; use path-style addressing */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  stop(): Promise<void>;
}

/** s3rver checks request signatures against this fixed key pair. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const START_TIMEOUT_MS = 20_000;

/**
 * A real S3 API (s3rver) on a free loopback port with its own temp directory and one bucket.
 *
 * s3rver runs in a child process because it needs `--openssl-legacy-provider` (DES continuation
 * tokens, without which every truncated ListObjectsV2 answers 500 on Node 20) and because its
 * logger installs process-wide exception handlers we keep out of the test process.
 * Clients must use path-style addressing.
 */
export async function startS3(): Promise<S3Handle> {
  const directory = await mkdtemp(join(tmpdir(), 'fedsim-s3rver-'));
  const bucket = `fedsim-test-${randomSuffix()}`.toLowerCase().slice(0, 63);
  const script = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));
  // Plain node (spawn does not pass on our execArgv, so no tsx hooks): the child script is JavaScript.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, bucket], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('error', (err) => { clearTimeout(timer); reject(err); });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`s3rver exited with code ${code}: ${stderr.trim()}`)); });
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          const parsed = JSON.parse(line) as { port?: unknown };
          if (typeof parsed.port !== 'number') throw new Error(`unexpected output: ${line}`);
          resolve(parsed.port);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw new Error(`could not start s3rver on 127.0.0.1: ${(err as Error).message}`, { cause: err });
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killTimer);
        }
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
