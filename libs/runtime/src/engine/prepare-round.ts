import type { JsonValue } from '@fedsim/fl/algorithms';
import { PERSONAL_STATE } from '@fedsim/fl/algorithms';
import type { StateRefs, StateShardTable } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { encodeInstruction } from './blobs.js';
import { loadState, putStatePack, refsOf } from './client-state/pack.js';
import type { PackedClient } from './client-state/pack.js';
import { currentStateRefs } from './client-state/shards.js';
import type { StateChanges } from './client-state/shards.js';
import { keys } from './keys.js';
import type { RunContext } from './run-context.js';

/** The state entries a train job gets: what the algorithm declares, plus its personal tensors. */
export function trainStateRefs(rc: Pick<RunContext, 'hooks'>, refs: StateRefs | undefined): StateRefs {
  if (!refs) return {};
  const declared = rc.hooks.trainState;
  if (!declared) return { ...refs };
  const names = new Set([...declared, PERSONAL_STATE]);
  return Object.fromEntries(Object.entries(refs).filter(([name]) => names.has(name)));
}

/** Clients whose prepared state shares one pack (bounds the preparing job's memory). */
const PREPARED_PER_PACK = 256;

/** One preparation: whose, where its instruction goes, and the key of its report. */
export interface PrepareTarget {
  readonly clientId: number;
  readonly instructionKey: string;
  readonly reportKey: string;
}

/**
 * Server-side preparation of a round: the algorithm's per-client instructions (e.g. FedOBP
 * patches) for the round's clients, written to the store before any of their jobs start. State
 * the algorithm rewrites is packed (PREPARED_PER_PACK clients per blob) and recorded in `changes`
 * over `table`; returns the algorithm's per-client reports.
 */
export function prepareRound(
  store: BlobStore,
  rc: Pick<RunContext, 'hooks' | 'record'>,
  round: number,
  clients: readonly number[],
  global: Float32Array,
  table: StateShardTable,
  changes: StateChanges,
): Promise<{ reports: Record<string, JsonValue> }> {
  const runId = rc.record.runId;
  const targets = clients.map((clientId) => ({ clientId, instructionKey: keys.instruction(runId, round, clientId), reportKey: String(clientId) }));
  return prepareTargets(store, rc, round, targets, global, table, changes);
}

/**
 * Prepares each target in order from `global` (handed to the algorithm as the model of `round`).
 * A client prepared twice (FedBuff dispatches) sees its first preparation's state: the pack
 * holding it is written before the second one reads.
 */
export async function prepareTargets(
  store: BlobStore,
  rc: Pick<RunContext, 'hooks' | 'record'>,
  round: number,
  targets: readonly PrepareTarget[],
  global: Float32Array,
  table: StateShardTable,
  changes: StateChanges,
): Promise<{ reports: Record<string, JsonValue> }> {
  const instruct = rc.hooks.instruct;
  if (!instruct) return { reports: {} };
  const runId = rc.record.runId;
  const current = await currentStateRefs(store, runId, table, changes, [...new Set(targets.map((t) => t.clientId))]);
  const reports: Record<string, JsonValue> = {};
  let pending: PackedClient[] = [];
  const pendingClients = new Set<number>();
  let chunk = 0;
  const flush = async () => {
    const key = keys.instructedState(runId, round, chunk++);
    const packed = await putStatePack(store, key, pending, { round, chunk });
    for (const [clientId, sections] of packed?.sections ?? []) changes.set(clientId, refsOf(key, sections));
    pending = [];
    pendingClients.clear();
  };
  for (const { clientId, instructionKey, reportKey } of targets) {
    if (pendingClients.has(clientId)) await flush();
    const state = await loadState(store, { ...current.get(clientId), ...changes.get(clientId) });
    const r = instruct({ clientId, round, global, state });
    if (r.instruction) await store.put(instructionKey, encodeInstruction(r.instruction));
    if (r.state) {
      pending.push({ clientId, state: r.state });
      pendingClients.add(clientId);
    }
    if (pending.length === PREPARED_PER_PACK) await flush();
    if (r.report) reports[reportKey] = r.report;
  }
  if (pending.length > 0) await flush();
  return { reports };
}

/** The instruction key a round's train job reads, or null for algorithms without instructions. */
export function instructionKeyFor(rc: Pick<RunContext, 'hooks' | 'record'>, round: number, clientId: number) {
  return rc.hooks.instruct ? keys.instruction(rc.record.runId, round, clientId) : null;
}
