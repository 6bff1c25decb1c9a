import type { ClientState } from '@fedsim/fl/algorithms';
import type { StateIndex, StateRefs } from '../jobs/catalog.js';
import { parseJob, stateIndexSchema } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeState } from './blobs.js';
import { decodeJson } from './json-blobs.js';

export type { StateIndex } from '../jobs/catalog.js';

/** The state index stored under `key`, validated; empty when there is none yet. */
export async function readStateIndex(store: Pick<BlobStore, 'get'>, key: string | null): Promise<StateIndex> {
  if (key === null) return {};
  return parseJob(stateIndexSchema, decodeJson(await store.get(key)), `state index ${key}`);
}

/** Loads the named entries (all when `only` is absent) of a client's state, each blob once. */
export async function loadState(
  store: Pick<BlobStore, 'get'>,
  refs: StateRefs | undefined,
  only?: readonly string[],
): Promise<ClientState | undefined> {
  if (!refs) return undefined;
  const wanted = Object.entries(refs).filter(([name]) => !only || only.includes(name));
  if (wanted.length === 0) return undefined;
  const blobs = new Map<string, ClientState>();
  const out: Record<string, Float32Array> = {};
  for (const [name, key] of wanted) {
    let blob = blobs.get(key);
    if (!blob) {
      blob = decodeState(await store.get(key));
      blobs.set(key, blob);
    }
    const entry = blob[name];
    if (!entry) throw new Error(`client state blob ${key} has no entry '${name}'`);
    out[name] = entry;
  }
  return out;
}

/** The index after a client stored new entries in one blob. */
export function withEntries(index: StateIndex, clientId: number, blobKey: string, entries: readonly string[]): StateIndex {
  if (entries.length === 0) return index;
  const refs = { ...index[String(clientId)] };
  for (const e of entries) refs[e] = blobKey;
  return { ...index, [String(clientId)]: refs };
}

