import type { ClientState, JsonValue } from '@fedsim/fl/algorithms/index';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeState, encodeInstruction, encodeState } from './blobs.js';
import { keys } from './keys.js';
import type { RunContext } from './run-context.js';

/** client id (as a string) → the key of that client's latest state blob */
export type StateIndex = Record<string, string>;

/**
 * Server-side preparation of a round: the algorithm's per-client instructions (e.g. FedOBP
 * patches) for the round's clients, written to the store before any of their jobs start. Returns
 * the state index updated with any state the algorithm rewrote, and its per-client reports.
 */
export async function prepareRound(
  store: BlobStore,
  rc: RunContext,
  round: number,
  clients: readonly number[],
  global: Float32Array,
  index: StateIndex,
): Promise<{ index: StateIndex; reports: Record<string, JsonValue> }> {
  const instruct = rc.hooks.instruct;
  if (!instruct) return { index, reports: {} };
  const next: StateIndex = { ...index };
  const reports: Record<string, JsonValue> = {};
  for (const clientId of clients) {
    const stateKey = index[String(clientId)];
    const state: ClientState | undefined = stateKey ? decodeState(await store.get(stateKey)) : undefined;
    const r = instruct({ clientId, round, global, state });
    if (r.instruction) await store.put(keys.instruction(rc.record.runId, round, clientId), encodeInstruction(r.instruction));
    if (r.state) {
      const key = keys.instructedState(rc.record.runId, round, clientId);
      await store.put(key, encodeState(r.state, { round, client: clientId }));
      next[String(clientId)] = key;
    }
    if (r.report) reports[String(clientId)] = r.report;
  }
  return { index: next, reports };
}

/** The instruction key a round's train job reads, or null for algorithms without instructions. */
export function instructionKeyFor(rc: Pick<RunContext, 'hooks' | 'record'>, round: number, clientId: number) {
  return rc.hooks.instruct ? keys.instruction(rc.record.runId, round, clientId) : null;
}
