import type { ClientState } from '@fedsim/fl/algorithms';
import { CodecError, decodeBlob, encodeBlob } from '@fedsim/fl/params';
import type { StateRefs, StateSection } from '../../jobs/catalog.js';
import type { BlobStore } from '../../ports/blob-store.js';

/**
 * A state pack: the state entries of many clients in one blob (a cohort's, or a round's prepared
 * clients'), each entry a contiguous float32 section. The pack is an ordinary fedsim blob (kind,
 * manifest, checksum: decodable whole for inspection), and the sections' byte offsets are handed
 * out at write time, so one client's entry is read with one range request, never the whole pack.
 */
const PACK_KIND = 'client-state-pack';
const SEP = '/';

export interface PackedClient {
  readonly clientId: number;
  readonly state: ClientState;
}

/** A client's entries in a pack. */
export type StateSections = Record<string, StateSection>;

export function encodeStatePack(
  clients: readonly PackedClient[],
  meta: Record<string, number | string>,
): { bytes: Uint8Array; sections: Map<number, StateSections> } {
  const arrays: Record<string, Float32Array> = {};
  for (const { clientId, state } of clients) for (const [name, values] of Object.entries(state)) arrays[`${clientId}${SEP}${name}`] = values;
  const bytes = encodeBlob({ kind: PACK_KIND, meta, arrays });
  const sections = new Map<number, StateSections>();
  // An encoded blob is aligned, so the decoder hands back views into it: their offsets are the sections'.
  for (const [name, view] of Object.entries(decodeBlob(bytes, PACK_KIND).arrays)) {
    if (view.buffer !== bytes.buffer) throw new Error(`state pack: entry '${name}' was copied on decode; its offset is unknown`);
    const { clientId, entry } = splitName(name);
    let own = sections.get(clientId);
    if (!own) sections.set(clientId, (own = {}));
    own[entry] = { offset: view.byteOffset - bytes.byteOffset, length: view.length };
  }
  return { bytes, sections };
}

/** Every client's state in a pack (tests and tools; jobs read sections). */
export function decodeStatePack(bytes: Uint8Array): Map<number, ClientState> {
  const out = new Map<number, Record<string, Float32Array>>();
  for (const [name, arr] of Object.entries(decodeBlob(bytes, PACK_KIND).arrays)) {
    if (!(arr instanceof Float32Array)) throw new CodecError(`state pack entry '${name}' is not float32`, 'shape_mismatch');
    const { clientId, entry } = splitName(name);
    let own = out.get(clientId);
    if (!own) out.set(clientId, (own = {}));
    own[entry] = arr;
  }
  return out;
}

function splitName(name: string): { clientId: number; entry: string } {
  const at = name.indexOf(SEP);
  const clientId = Number(name.slice(0, at));
  if (at <= 0 || !Number.isInteger(clientId)) throw new CodecError(`state pack entry '${name}' does not name a client`);
  return { clientId, entry: name.slice(at + 1) };
}

/** A client's refs to its entries in the pack stored under `key`. */
export function refsOf(key: string | null, sections: StateSections): StateRefs {
  if (key === null) return {};
  return Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, { key, ...s }]));
}

/**
 * Reads the named entries (all when `only` is absent) of a client's state: one range read per
 * entry, whatever the size of the packs holding them.
 */
export async function loadState(
  store: Pick<BlobStore, 'getRange'>,
  refs: StateRefs | undefined,
  only?: readonly string[],
): Promise<ClientState | undefined> {
  if (!refs) return undefined;
  const wanted = Object.entries(refs).filter(([name]) => !only || only.includes(name));
  if (wanted.length === 0) return undefined;
  const out: Record<string, Float32Array> = {};
  for (const [name, ref] of wanted) {
    const bytes = await store.getRange(ref.key, ref.offset, ref.length * Float32Array.BYTES_PER_ELEMENT);
    out[name] = bytes.byteOffset % Float32Array.BYTES_PER_ELEMENT === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, ref.length)
      : new Float32Array(bytes.slice().buffer);
  }
  return out;
}

/**
 * Stores the clients' states (those with any entry) as one pack under `key`; returns each
 * client's sections and the bytes written, or nothing stored when no client has state.
 */
export async function putStatePack(
  store: Pick<BlobStore, 'put'>,
  key: string,
  clients: readonly PackedClient[],
  meta: Record<string, number | string>,
): Promise<{ sections: Map<number, StateSections>; bytes: number } | null> {
  const withState = clients.filter((c) => Object.keys(c.state).length > 0);
  if (withState.length === 0) return null;
  const { bytes, sections } = encodeStatePack(withState, meta);
  await store.put(key, bytes);
  return { sections, bytes: bytes.byteLength };
}

/** The state a train reply says its job stored for its client (tests and tools). */
export async function stateOfReply(
  store: Pick<BlobStore, 'getRange'>,
  reply: { readonly stateKey: string | null; readonly stateEntries: StateSections },
): Promise<ClientState> {
  return (await loadState(store, refsOf(reply.stateKey, reply.stateEntries))) ?? {};
}
