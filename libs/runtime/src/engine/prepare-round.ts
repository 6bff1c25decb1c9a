import type { JsonValue } from '@fedsim/fl/algorithms';
import { PERSONAL_STATE } from '@fedsim/fl/algorithms';
import type { StateIndex, StateRefs } from '../jobs/catalog.js';
import type { BlobStore } from '../ports/blob-store.js';
import { encodeInstruction, encodeState } from './blobs.js';
import { keys } from './keys.js';
import type { RunContext } from './run-context.js';
import { loadState, withEntries } from './state-index.js';

/** The state entries a train job gets: what the algorithm declares, plus its personal tensors. */
export function trainStateRefs(rc: Pick<RunContext, 'hooks'>, refs: StateRefs | undefined): StateRefs {
  if (!refs) return {};
  const declared = rc.hooks.trainState;
  if (!declared) return { ...refs };
  const names = new Set([...declared, PERSONAL_STATE]);
  return Object.fromEntries(Object.entries(refs).filter(([name]) => names.has(name)));
}

/** What one preparation writes: the instruction a train job reads, the state it may rewrite, its report's key. */
export interface PrepareTarget {
  readonly clientId: number;
  readonly instructionKey: string;
  readonly stateKey: string;
  readonly reportKey: string;
}

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
  const runId = rc.record.runId;
  const targets = clients.map((clientId) => ({
    clientId,
    instructionKey: keys.instruction(runId, round, clientId),
    stateKey: keys.instructedState(runId, round, clientId),
    reportKey: String(clientId),
  }));
  return prepareTargets(store, rc, round, targets, global, index);
}

/**
 * Prepares each target in order from `global` (handed to the algorithm as the model of `round`),
 * threading the state index through, so a client prepared twice sees its first preparation's state.
 */
export async function prepareTargets(
  store: BlobStore,
  rc: Pick<RunContext, 'hooks'>,
  round: number,
  targets: readonly PrepareTarget[],
  global: Float32Array,
  index: StateIndex,
): Promise<{ index: StateIndex; reports: Record<string, JsonValue> }> {
  const instruct = rc.hooks.instruct;
  if (!instruct) return { index, reports: {} };
  let next: StateIndex = index;
  const reports: Record<string, JsonValue> = {};
  for (const t of targets) {
    const { clientId } = t;
    const state = await loadState(store, next[String(clientId)]);
    const r = instruct({ clientId, round, global, state });
    if (r.instruction) await store.put(t.instructionKey, encodeInstruction(r.instruction));
    if (r.state) {
      await store.put(t.stateKey, encodeState(r.state, { round, client: clientId }));
      next = withEntries(next, clientId, t.stateKey, Object.keys(r.state));
    }
    if (r.report) reports[t.reportKey] = r.report;
  }
  return { index: next, reports };
}

/** The instruction key a round's train job reads, or null for algorithms without instructions. */
export function instructionKeyFor(rc: Pick<RunContext, 'hooks' | 'record'>, round: number, clientId: number) {
  return rc.hooks.instruct ? keys.instruction(rc.record.runId, round, clientId) : null;
}
