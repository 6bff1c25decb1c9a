import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sourceNodeArgs } from './fixtures.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** everything the worker wrote to stderr so far */
  output(): string;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

/**
 * What a worker process needs to serve `redis` and the S3 that `s3Env` names: one wasm compute
 * thread, metrics on a free port (so several workers can share a machine).
 */
export function workerEnv(redis: { readonly url: string; readonly prefix: string }, s3Env: Record<string, string>): Record<string, string> {
  return {
    ...s3Env, REDIS_URL: redis.url, FEDSIM_QUEUE_PREFIX: redis.prefix,
    FEDSIM_BACKEND: 'wasm', FEDSIM_WORKER_CONCURRENCY: '1', FEDSIM_METRICS_PORT: '0',
  };
}

/** A real `fedsim-worker` process (from sources) with the given environment; `entry` may name a test variant. */
export function spawnWorker(env: Record<string, string>, entry = 'apps/worker/src/main.ts'): WorkerProcess {
  const child = spawn(process.execPath, [...sourceNodeArgs, entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until every worker logged that it serves its pools (or one died). */
export async function waitUntilServing(workers: readonly WorkerProcess[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const w of workers) await waitForOutput(w, /serving pools/, deadline - Date.now());
}

/** Waits until the worker logged a line matching `pattern`; throws if it dies or `timeoutMs` passes first. */
export async function waitForOutput(w: WorkerProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(w.output())) {
    if (w.child.exitCode !== null) throw new Error(`worker exited with ${w.child.exitCode}:\n${w.output()}`);
    if (Date.now() > deadline) throw new Error(`worker did not log ${pattern} within ${timeoutMs} ms:\n${w.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
