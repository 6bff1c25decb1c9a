import type { BlobStore } from '../ports/blob-store.js';
import { checkRedis } from './bullmq/connection.js';
import type { RedisConnectionInput } from './bullmq/connection.js';
import { silentLogger } from './logger.js';
import type { LogSink } from './logger.js';
import { maskSecrets } from './redact.js';

/** A service a process cannot work without, and a quick check that it answers and accepts us. */
export interface DependencyProbe {
  /** e.g. 'Redis', 'S3' */
  readonly name: string;
  /** resolves when usable; rejects with an actionable message (what to fix, which variable) */
  check(): Promise<void>;
}

export class DependenciesUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DependenciesUnavailableError';
  }
}

/** Warnings (e.g. an evicting maxmemory-policy) are logged on the first check only, not on every /readyz. */
export function redisProbe(connection: RedisConnectionInput, opts: { timeoutMs?: number; log?: LogSink } = {}): DependencyProbe {
  let checked = false;
  return {
    name: 'Redis',
    async check() {
      await checkRedis(connection, { ...opts, log: checked ? silentLogger : opts.log });
      checked = true;
    },
  };
}

export function blobStoreProbe(store: Pick<BlobStore, 'check'>, name = 'S3'): DependencyProbe {
  return { name, check: () => store.check() };
}

/** Every failing probe's message, or undefined when all pass; probes run together. */
async function failures(probes: readonly DependencyProbe[]): Promise<string | undefined> {
  const results = await Promise.allSettled(probes.map((p) => p.check()));
  const problems = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${probes[i]!.name}: ${maskSecrets((r.reason as Error)?.message ?? String(r.reason))}`] : []);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Start-up gate: fails with one message naming every dependency that is unreachable, silent or refuses us. */
export async function checkDependencies(probes: readonly DependencyProbe[]): Promise<void> {
  const problem = await failures(probes);
  if (problem) throw new DependenciesUnavailableError(problem);
}

/**
 * A /readyz check over the probes: true, or what is wrong. Concurrent requests share one round
 * of probes, so a burst of readiness calls does not open a burst of connections.
 */
export function dependencyReadiness(probes: readonly DependencyProbe[]): () => Promise<true | string> {
  let inFlight: Promise<true | string> | undefined;
  return () => {
    inFlight ??= failures(probes).then((problem) => problem ?? true).finally(() => { inFlight = undefined; });
    return inFlight;
  };
}
