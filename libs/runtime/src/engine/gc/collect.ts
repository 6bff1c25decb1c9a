import { RunFailedError } from '../../errors/run.js';
import type { StateShardTable } from '../../jobs/catalog.js';
import { commitRecordSchema, parseJob } from '../../jobs/catalog.js';
import type { BlobStore, SizedKey } from '../../ports/blob-store.js';
import { assertCurrentCommitFormat } from '../client-state/legacy.js';
import { packsOfShard } from '../client-state/shards.js';
import { decodeJson } from '../json-blobs.js';
import { keys } from '../keys.js';
import { parseRunRecord } from '../run-record.js';
import { classifyRunKey } from './classify.js';
import type { RoundBlob } from './classify.js';

export interface GcOptions {
  /** newest global models to keep; default: the run's `storage.keepGlobalModels` */
  readonly keepGlobalModels?: number | 'all';
  /** report what would be deleted, delete nothing */
  readonly dryRun?: boolean;
}

export type GcKind = 'global' | 'updates' | 'partials' | 'instructions' | 'state-pack' | 'state-shard';

export interface GcResult {
  readonly runId: string;
  /** the last round of the unbroken run of commits from round 0; −1 when none */
  readonly committedThrough: number;
  readonly deleted: readonly (SizedKey & { readonly kind: GcKind })[];
  readonly bytesFreed: number;
  /** blobs and bytes under the run's rounds/ and initial-state/ left in place */
  readonly kept: { readonly count: number; readonly bytes: number };
  readonly dryRun: boolean;
}

/** Deletes in flight at once: store round trips overlap without flooding the store. */
const DELETE_CONCURRENCY = 16;

/**
 * Deletes a run's superseded blobs: what no resume, evaluation or report can read any more.
 * Only rounds up to the last commit are touched (a round in progress, and the instructions and
 * prepared state of the round about to run, live beyond it); commit records, evaluations,
 * results, the run record and partition are never deleted. Live: the global model a resume starts
 * from (θ_g^{c+1}) and the newest `keepGlobalModels` before it; the location blocks the last
 * commit names and the state packs they point into. Dead: every round's updates, partials and
 * instructions, replaced blocks, packs no live block points into, older global models.
 */
export async function collectGarbage(store: BlobStore, runId: string, opts: GcOptions = {}): Promise<GcResult> {
  const runKey = keys.run(runId);
  if (!(await store.exists(runKey))) throw new RunFailedError(`no run '${runId}' in ${store.describe()}`);
  const record = parseRunRecord(await store.get(runKey), runKey);
  // FedBuff trains dispatches from the versions their clients downloaded, which may be any older one
  const keep = record.config.system?.mode.kind === 'fedbuff' ? 'all' : (opts.keepGlobalModels ?? record.config.storage?.keepGlobalModels ?? 'all');
  const base = runKey.slice(0, -'run.json'.length);
  const listed = [...(await store.listSized(keys.roundsPrefix(runId))), ...(await store.listSized(keys.initialStatePrefix(runId)))];
  const blobs = listed.map((k) => ({ ...k, what: classifyRunKey(k.key.slice(base.length)) }));

  const committed = new Set(blobs.flatMap((b) => (b.what.kind === 'commit' ? [b.what.round] : [])));
  let last = -1;
  while (committed.has(last + 1)) last++;
  const table = last >= 0 ? await committedTable(store, runId, last) : null;
  const livePacks = new Set<string>();
  if (table) {
    for (const [shard, version] of table.entries()) {
      if (version !== null) for (const pack of await packsOfShard(store, runId, version, shard)) livePacks.add(pack);
    }
  }

  const deadKind = (key: string, b: RoundBlob): GcKind | null => {
    // nothing beyond the last commit: a round in progress, or prepared for the next one
    if (b.kind === 'unknown' || b.kind === 'commit' || b.round > last) return null;
    switch (b.kind) {
      case 'global':
        return keep !== 'all' && b.round <= last + 1 - keep ? 'global' : null;
      case 'transient':
        return b.what;
      case 'state-shard':
        return table && table[b.shard] !== b.round ? 'state-shard' : null;
      case 'state-pack':
        return table && !livePacks.has(key) ? 'state-pack' : null;
    }
  };

  const deleted: (SizedKey & { kind: GcKind })[] = [];
  let keptCount = 0;
  let keptBytes = 0;
  for (const b of blobs) {
    const kind = deadKind(b.key, b.what);
    if (kind) deleted.push({ key: b.key, bytes: b.bytes, kind });
    else {
      keptCount++;
      keptBytes += b.bytes;
    }
  }
  if (!opts.dryRun) await deleteAll(store, deleted.map((d) => d.key));
  return {
    runId,
    committedThrough: last,
    deleted,
    bytesFreed: deleted.reduce((s, d) => s + d.bytes, 0),
    kept: { count: keptCount, bytes: keptBytes },
    dryRun: opts.dryRun ?? false,
  };
}

async function committedTable(store: BlobStore, runId: string, round: number): Promise<StateShardTable> {
  const key = keys.commit(runId, round);
  const raw = decodeJson(await store.get(key));
  // an older run's per-client state blobs would all look unreferenced: refuse rather than delete them
  assertCurrentCommitFormat(raw, runId, round);
  return parseJob(commitRecordSchema, raw, key).stateShards;
}

async function deleteAll(store: BlobStore, all: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < all.length) await store.delete(all[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, all.length) }, worker));
}

/** Whether the run collects garbage after each commit: `storage.gc`, on unless set to 'off'. */
export const gcAfterCommit = (config: { readonly storage?: { readonly gc: 'after-commit' | 'off' } | undefined }) =>
  (config.storage?.gc ?? 'after-commit') === 'after-commit';
