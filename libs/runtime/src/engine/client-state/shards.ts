import { z } from 'zod';
import type { StateRefs, StateShardTable } from '../../jobs/catalog.js';
import { commitRecordSchema, parseJob } from '../../jobs/catalog.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { decodeJson } from '../json-blobs.js';
import { keys } from '../keys.js';

/**
 * The client → state-location map, sharded by client id: block b holds clients
 * [b·SHARD_CLIENTS, (b+1)·SHARD_CLIENTS). A round rewrites only the blocks of clients whose state
 * changed, each as a new immutable version; the commit record's table names every block's latest
 * version. Locating one client's state reads one block, whatever the number of clients.
 */
export const SHARD_CLIENTS = 1024;

export const shardOf = (clientId: number) => Math.floor(clientId / SHARD_CLIENTS);

/** A block on disk: the packs it points into once, then per client entry → [pack, offset, length]. */
const shardSchema = z.object({
  packs: z.array(z.string().min(1)),
  clients: z.record(
    z.string().regex(/^\d+$/, 'client ids are integers'),
    z.record(z.string(), z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)])),
  ),
});
type ShardDoc = z.infer<typeof shardSchema>;

/** The table before any client has state. */
export function emptyShardTable(numClients: number): StateShardTable {
  return Array.from({ length: Math.ceil(numClients / SHARD_CLIENTS) }, () => null);
}

/** Refuses a table naming a block version that cannot exist before `round` (the run writes versions −1 … round − 1). */
export function forgedShardTable(table: StateShardTable, round: number, numClients: number): string | null {
  if (table.length !== Math.ceil(numClients / SHARD_CLIENTS)) return `names ${table.length} state blocks, the run has ${Math.ceil(numClients / SHARD_CLIENTS)}`;
  const bad = table.findIndex((v) => v !== null && v >= round);
  return bad >= 0 ? `block ${bad} names version ${table[bad]}, written no earlier than round ${round}` : null;
}

async function readShard(store: Pick<BlobStore, 'get'>, runId: string, version: number, shard: number): Promise<Map<number, StateRefs>> {
  const key = keys.stateShard(runId, version, shard);
  const doc = parseJob(shardSchema, decodeJson(await store.get(key)), `state block ${key}`);
  const out = new Map<number, StateRefs>();
  for (const [id, entries] of Object.entries(doc.clients)) {
    const refs: StateRefs = {};
    for (const [name, [pack, offset, length]] of Object.entries(entries)) {
      const packKey = doc.packs[pack];
      if (packKey === undefined) throw new Error(`state block ${key}: client ${id}'s entry '${name}' names pack ${pack} of ${doc.packs.length}`);
      refs[name] = { key: packKey, offset, length };
    }
    out.set(Number(id), refs);
  }
  return out;
}

function encodeShard(clients: ReadonlyMap<number, StateRefs>): Uint8Array {
  const doc: ShardDoc = { packs: [], clients: {} };
  const packIndex = new Map<string, number>();
  for (const id of [...clients.keys()].sort((a, b) => a - b)) {
    const entries: ShardDoc['clients'][string] = {};
    for (const [name, ref] of Object.entries(clients.get(id)!).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      let pack = packIndex.get(ref.key);
      if (pack === undefined) {
        pack = doc.packs.push(ref.key) - 1;
        packIndex.set(ref.key, pack);
      }
      entries[name] = [pack, ref.offset, ref.length];
    }
    doc.clients[String(id)] = entries;
  }
  // compact: a block is read for every round's clients, and holds up to SHARD_CLIENTS of them
  return Buffer.from(JSON.stringify(doc));
}

/** Every pack key a block version points into (garbage collection's mark phase). */
export async function packsOfShard(store: Pick<BlobStore, 'get'>, runId: string, version: number, shard: number): Promise<string[]> {
  const key = keys.stateShard(runId, version, shard);
  return parseJob(shardSchema, decodeJson(await store.get(key)), `state block ${key}`).packs;
}

/** The state refs of the given clients as of `table`: one block read per block they fall in. */
export async function stateRefsFor(
  store: Pick<BlobStore, 'get'>,
  runId: string,
  table: StateShardTable,
  clients: Iterable<number>,
): Promise<Map<number, StateRefs>> {
  const byShard = new Map<number, number[]>();
  for (const id of clients) {
    const s = shardOf(id);
    if (table[s] === null || table[s] === undefined) continue;
    let ids = byShard.get(s);
    if (!ids) byShard.set(s, (ids = []));
    ids.push(id);
  }
  const out = new Map<number, StateRefs>();
  for (const [s, ids] of byShard) {
    const shard = await readShard(store, runId, table[s]!, s);
    for (const id of ids) {
      const refs = shard.get(id);
      if (refs) out.set(id, refs);
    }
  }
  return out;
}

/** Entries a round changed, per client: applied over the previous table by `writeStateShards`. */
export class StateChanges {
  private readonly byClient = new Map<number, StateRefs>();

  /** Later entries of the same name replace earlier ones (a prepared score over a trained one). */
  set(clientId: number, refs: StateRefs): void {
    if (Object.keys(refs).length === 0) return;
    this.byClient.set(clientId, { ...this.byClient.get(clientId), ...refs });
  }

  get(clientId: number): StateRefs | undefined {
    return this.byClient.get(clientId);
  }

  get size(): number {
    return this.byClient.size;
  }

  clients(): IterableIterator<number> {
    return this.byClient.keys();
  }
}

/**
 * The state refs of `clients` as of `table` with `changes` applied on top (what a client sees
 * after this round, before the blocks are written).
 */
export async function currentStateRefs(
  store: Pick<BlobStore, 'get'>,
  runId: string,
  table: StateShardTable,
  changes: StateChanges,
  clients: readonly number[],
): Promise<Map<number, StateRefs>> {
  const out = await stateRefsFor(store, runId, table, clients);
  for (const id of clients) {
    const changed = changes.get(id);
    if (changed) out.set(id, { ...out.get(id), ...changed });
  }
  return out;
}

/**
 * Writes a new version (`version`) of every block holding a changed client, each the previous
 * version with the changes merged, and returns the table naming them. Blocks without changes
 * keep their version: nothing about an untouched client is read or written.
 */
export async function writeStateShards(
  store: Pick<BlobStore, 'get' | 'put'>,
  runId: string,
  version: number,
  table: StateShardTable,
  changes: StateChanges,
): Promise<StateShardTable> {
  const next = [...table];
  const touched = new Map<number, number[]>();
  for (const id of changes.clients()) {
    const s = shardOf(id);
    if (s >= next.length) throw new Error(`client ${id} is beyond the run's ${next.length} state blocks`);
    let ids = touched.get(s);
    if (!ids) touched.set(s, (ids = []));
    ids.push(id);
  }
  for (const s of [...touched.keys()].sort((a, b) => a - b)) {
    const previous = table[s];
    const shard = previous === null || previous === undefined ? new Map<number, StateRefs>() : await readShard(store, runId, previous, s);
    for (const id of touched.get(s)!) shard.set(id, { ...shard.get(id), ...changes.get(id) });
    await store.put(keys.stateShard(runId, version, s), encodeShard(shard));
    next[s] = version;
  }
  return next;
}

/**
 * The state refs of `clients` (all the run's clients when absent) as committed at the end of
 * `round`: for tests and tools that inspect a run's store.
 */
export async function committedStateRefs(
  store: Pick<BlobStore, 'get'>,
  runId: string,
  round: number,
  clients?: Iterable<number>,
): Promise<Map<number, StateRefs>> {
  const key = keys.commit(runId, round);
  const { stateShards } = parseJob(commitRecordSchema, decodeJson(await store.get(key)), key);
  return stateRefsFor(store, runId, stateShards, clients ?? Array.from({ length: stateShards.length * SHARD_CLIENTS }, (_, i) => i));
}
