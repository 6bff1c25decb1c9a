import assert from 'node:assert/strict';
import type { ExperimentConfig, RoundRow, RunSummary, TrainPayload, TrainReply } from '@fedsim/runtime';
import { keys, parseExperiment, RunContextCache, runExperiment } from '@fedsim/runtime';
import { loadState } from '@fedsim/runtime/engine';
import type { JobHandlers } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { decodeModel, stateOfReply } from '@fedsim/runtime/engine';
import { createHandlers } from '@fedsim/runtime/wiring';
import { derivedSeed, personalStateOf, withPersonal } from '@fedsim/fl/algorithms';
import type { ClientState } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { createModel } from '@fedsim/fl/models';
import type { ModelDef } from '@fedsim/fl/models';
import { decodeParams } from '@fedsim/fl/params';
import { subSpec } from '@fedsim/fl/params';
import type { TensorSelector } from '@fedsim/fl/params';

/**
 * Engine runs of the personalised baselines (embedded transport, real handlers, local-dir store)
 * with every train job's payload and reply recorded, so tests can follow a client's state from
 * one participation to the next through the blob store.
 */

export interface TrainRecord {
  readonly round: number;
  readonly clientId: number;
  readonly payload: TrainPayload;
  readonly reply: TrainReply;
}

export interface RecordedRun {
  readonly summary: RunSummary;
  readonly rows: readonly RoundRow[];
  readonly trains: readonly TrainRecord[];
  readonly model: ModelDef;
  readonly store: LocalDirBlobStore;
  readonly runId: string;
  readonly config: ExperimentConfig;
}

const FEATURES = 12;
const CLASSES = 3;

/** A small synthetic experiment (MLP) where some clients take part more than once. */
export function personalRunConfig(algorithm: Record<string, unknown>): ExperimentConfig {
  return parseExperiment({
    name: `it-${String(algorithm['name'])}`,
    seed: 5,
    data: { kind: 'synthetic', numSamples: 480, featureShape: [FEATURES], numClasses: CLASSES },
    partition: { kind: 'dirichlet', numClients: 4, alpha: 0.5, minSamples: 10, testRatio: 0.25 },
    model: 'mlp',
    algorithm,
    rounds: 4,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 2 },
    // the test reads every round's blobs after the run
    storage: { gc: 'off' },
  });
}

export async function recordedRun(config: ExperimentConfig, root: string, runId = 'r1'): Promise<RecordedRun> {
  const inner = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
  const trains: TrainRecord[] = [];
  const handlers: JobHandlers = {
    async runChild(kind, payload, ctx) {
      const reply = await inner.runChild(kind, payload, ctx);
      if (kind === 'train') {
        const p = payload as TrainPayload;
        trains.push({ round: p.round, clientId: p.clientId, payload: p, reply: reply as TrainReply });
      }
      return reply;
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  };
  const store = new LocalDirBlobStore(root);
  const rows: RoundRow[] = [];
  const summary = await runExperiment(config, {
    runId,
    store,
    transport: new EmbeddedTransport({ handlers, concurrency: 1 }),
    observer: { onRound: (r) => void rows.push(r) },
  });
  trains.sort((a, b) => a.round - b.round || a.clientId - b.clientId);
  const model = createModel(config.model, { inputShape: [FEATURES], numClasses: CLASSES });
  return { summary, rows, trains, model, store, runId, config };
}

/** Every participation of each client that took part at least twice, in round order. */
export function repeatParticipations(run: RecordedRun): TrainRecord[][] {
  const byClient = new Map<number, TrainRecord[]>();
  for (const t of run.trains) byClient.set(t.clientId, [...(byClient.get(t.clientId) ?? []), t]);
  return [...byClient.values()].filter((list) => list.length >= 2);
}

/**
 * The state a client stored at one participation is exactly what its next participation's
 * train job is given (entry by entry) and what that job's fit built on; a first participation
 * gets no state.
 */
export async function assertStatePersists(run: RecordedRun, entries: readonly string[]): Promise<ClientState[][]> {
  const repeats = repeatParticipations(run);
  assert.ok(repeats.length > 0, 'the seeded sampling gives some client two participations');
  const seen = new Set<number>();
  for (const t of run.trains) {
    assert.deepEqual(Object.keys(t.reply.stateEntries).sort(), [...entries].sort(), `round ${t.round} client ${t.clientId} stored its entries`);
    if (!seen.has(t.clientId)) assert.deepEqual(t.payload.state, {}, `client ${t.clientId}'s first participation has no state`);
    seen.add(t.clientId);
  }
  const states: ClientState[][] = [];
  for (const list of repeats) {
    const decoded: ClientState[] = [];
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      assert.ok(t.reply.stateKey, `round ${t.round} client ${t.clientId} wrote a state blob`);
      decoded.push(await stateOfReply(run.store, t.reply));
      if (i === 0) continue;
      const prev = list[i - 1]!;
      for (const e of entries) {
        assert.equal(t.payload.state[e]?.key, prev.reply.stateKey, `client ${t.clientId} round ${t.round} reads '${e}' from round ${prev.round}`);
      }
      for (const e of entries) {
        assert.notDeepEqual(decoded[i]![e], decoded[i - 1]![e], `client ${t.clientId}'s '${e}' evolved from round ${prev.round} to ${t.round}`);
      }
      await assertFitUsedStoredState(run, t, entries);
    }
    states.push(decoded);
  }
  return states;
}

/** θ_g^t for t = 0..rounds. */
export async function globals(run: RecordedRun): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let t = 0; t <= run.config.rounds; t++) out.push(decodeModel(await run.store.get(keys.global(run.runId, t)), run.model.spec));
  return out;
}

/** The values a train job uploaded, laid out as the shared tensors. */
export async function uploadOf(run: RecordedRun, t: TrainRecord, shared: TensorSelector): Promise<Float32Array> {
  return decodeParams(await run.store.get(t.reply.updateKey), subSpec(run.model.spec, shared)).values;
}

/**
 * Re-runs one recorded train job's fit outside the engine, from the stored θ_g of its round and
 * the given state (default: the state its payload pointed to; null: none), with the engine's
 * seed. Returns the state the engine would store from it.
 */
export async function replayState(run: RecordedRun, t: TrainRecord, state?: ClientState | null): Promise<ClientState> {
  const rc = await new RunContextCache(run.store).get(run.runId);
  const spec = rc.model.spec;
  const global = decodeModel(await run.store.get(keys.global(run.runId, t.round)), spec);
  const given = state === undefined ? await loadState(run.store, t.payload.state) : (state ?? undefined);
  const base = { clientId: t.clientId, round: t.round, global, state: given, instruction: undefined };
  const start = rc.hooks.startModel ? rc.hooks.startModel(base) : withPersonal(spec, global, rc.hooks.personal, given);
  const fit = await rc.hooks.fit({
    ...base,
    start,
    train: clientData(rc.dataset, rc.partition.clients[t.clientId]!.train),
    seed: derivedSeed(rc.config.seed, 'train', t.round, t.clientId),
  });
  return { ...personalStateOf(spec, rc.hooks.personal, fit.trained), ...fit.state };
}

const sameValues = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/**
 * For a client's later participation: the state it stored is what its fit makes of the state
 * stored before (bit for bit), and not what a fresh client would have produced.
 */
export async function assertFitUsedStoredState(run: RecordedRun, later: TrainRecord, entries: readonly string[]): Promise<void> {
  const stored = await stateOfReply(run.store, later.reply);
  const replayed = await replayState(run, later);
  const fresh = await replayState(run, later, null);
  for (const e of entries) {
    assert.ok(sameValues(replayed[e], stored[e]), `replaying client ${later.clientId}'s round ${later.round} reproduces '${e}'`);
  }
  assert.ok(
    entries.some((e) => !sameValues(fresh[e], stored[e])),
    `client ${later.clientId}'s round ${later.round} depended on its stored state`,
  );
}
