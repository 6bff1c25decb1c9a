import { InvalidJobError } from '../errors/non-retryable.js';
import type { AggregatePayload, EvalReply, StateRefs } from '../jobs/catalog.js';
import { forgedShardTable } from './client-state/shards.js';
import { keys } from './keys.js';

/**
 * Trust boundaries between the engine and its workers. A worker's reply is believed only where
 * the run can recompute it: the keys it names must be the ones the run assigns to that run,
 * round, client and one of the job's attempts, and its counts must match the client's own data.
 * A payload only names blobs of its own run. Each check returns why it refused, or null.
 */

/**
 * Why a train reply names a key the run did not assign to this client's job, or null. A client
 * summed into its cohort's partial has no update key; its state must still be in its own job's
 * state pack (its `train` job's, or its cohort's).
 * A FedBuff job's update is keyed by its dispatch, so one client's two jobs of a round differ.
 */
export function forgedTrainKeys(
  runId: string,
  round: number,
  clientId: number,
  attempts: number,
  reply: { readonly updateKey: string | null; readonly stateKey: string | null; readonly cohort: number | null },
  dispatch?: number,
): string | null {
  const cohort = reply.cohort;
  const stateOf = (a: number) =>
    dispatch !== undefined
      ? keys.dispatchState(runId, round, dispatch, a)
      : cohort === null
        ? keys.trainedState(runId, round, clientId, a)
        : keys.cohortState(runId, round, cohort, a);
  const whose = dispatch !== undefined ? `dispatch ${dispatch}` : cohort === null ? `client ${clientId}` : `cohort ${cohort}`;
  if (reply.updateKey === null) {
    if (reply.stateKey !== null && attemptOf(reply.stateKey, stateOf, attempts) === null) {
      return `state key ${reply.stateKey} is not the state of run ${runId}, round ${round}, ${whose}, attempt 1-${attempts}`;
    }
    return null;
  }
  const updateOf = (a: number) =>
    dispatch === undefined ? keys.update(runId, round, clientId, a) : keys.dispatchUpdate(runId, round, dispatch, a);
  const attempt = attemptOf(reply.updateKey, updateOf, attempts);
  if (attempt === null) {
    const whose = dispatch === undefined ? `client ${clientId}` : `client ${clientId}'s dispatch ${dispatch}`;
    return `update key ${reply.updateKey} is not the update of run ${runId}, round ${round}, ${whose}, attempt 1-${attempts}`;
  }
  // state comes from the same attempt that trained the update, never from another job's
  if (reply.stateKey !== null && reply.stateKey !== stateOf(attempt)) {
    return `state key ${reply.stateKey} is not the state of run ${runId}, round ${round}, ${whose}, attempt ${attempt}`;
  }
  return null;
}

/** Why a cohort reply's partial key is not the one the run assigns to that cohort, or null. */
export function forgedPartialKey(runId: string, round: number, cohort: number, attempts: number, key: string): string | null {
  return attemptOf(key, (a) => keys.partial(runId, round, cohort, a), attempts) === null
    ? `partial key ${key} is not the partial of run ${runId}, round ${round}, cohort ${cohort}, attempt 1-${attempts}`
    : null;
}

function attemptOf(key: string, keyOf: (attempt: number) => string, attempts: number): number | null {
  for (let a = 1; a <= attempts; a++) if (key === keyOf(a)) return a;
  return null;
}

/**
 * Why an evaluation reply's counts cannot be this client's, or null: every named evaluation
 * counts the client's whole test split once (a forged total would inflate accuracy past 100 %).
 */
export function forgedEvalCounts(clientId: number, testSize: number, reply: Pick<EvalReply, 'results'>): string | null {
  for (const [name, c] of Object.entries(reply.results)) {
    if (c.total !== testSize) return `${name}: reported ${c.total} test samples, client ${clientId} has ${testSize}`;
    if (c.correct > c.total) return `${name}: reported ${c.correct} correct of ${c.total}`;
    if (!Number.isFinite(c.lossSum) || c.lossSum < 0) return `${name}: loss sum ${c.lossSum} is not a finite non-negative number`;
  }
  return null;
}

/** Refuses a client job whose state or instruction refs name blobs outside its run. */
export function assertRefsInRun(kind: string, runId: string, state: StateRefs, instructionKey: string | null = null): void {
  const prefix = runPrefix(runId);
  for (const [entry, { key }] of Object.entries(state)) {
    if (!key.startsWith(prefix)) throw new InvalidJobError(`${kind} job: state entry '${entry}' names ${key}, outside run ${runId}`);
  }
  if (instructionKey !== null && !instructionKey.startsWith(prefix)) {
    throw new InvalidJobError(`${kind} job: instruction key ${instructionKey} is outside run ${runId}`);
  }
}

/**
 * Refuses a FedBuff train job whose instruction is not the one the run prepared for its dispatch
 * from the version it starts from: a patch or mask of another version or dispatch would train
 * silently on the wrong submodel.
 */
export function assertDispatchInstruction(runId: string, dispatch: { readonly id: number; readonly baseVersion: number }, instructionKey: string | null): void {
  const expected = keys.dispatchInstruction(runId, dispatch.baseVersion, dispatch.id);
  if (instructionKey !== null && instructionKey !== expected) {
    throw new InvalidJobError(`train job: dispatch ${dispatch.id} names instruction ${instructionKey}, the run prepared ${expected}`);
  }
}

/** Refuses an aggregation whose previous state map names block versions this run cannot have written before the round. */
export function assertAggregateInRun(p: AggregatePayload, numClients: number): void {
  const forged = forgedShardTable(p.previousStateShards, p.round, numClients);
  if (forged) throw new InvalidJobError(`aggregate job: the previous state map of run ${p.runId} before round ${p.round} ${forged}`);
}

const runPrefix = (runId: string) => keys.run(runId).slice(0, -'run.json'.length);
