import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CommitRecord, EvalReply, EvalSummary, JobHandlers, TrainReply } from '@fedsim/runtime';
import { commitRecordSchema, evalSummarySchema, InvalidJobError, keys, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { committedStateRefs } from '@fedsim/runtime/engine';
import { createHandlers } from '@fedsim/runtime/wiring';
import { fedBuffExperiment, syntheticExperiment } from './fixtures.js';

/**
 * A worker whose handlers forge what they reply: keys of another run, client or attempt, sample
 * and test counts, metrics. The engine must refuse each forgery with a coded reason and keep
 * every honest client's result.
 */
type ForgeTrain = (reply: TrainReply) => TrainReply;
type ForgeEval = (reply: EvalReply) => EvalReply;

function maliciousHandlers(handlers: JobHandlers, train: ReadonlyMap<number, ForgeTrain>, evaluation: ReadonlyMap<number, ForgeEval>): JobHandlers {
  return {
    async runChild(kind, payload, ctx) {
      const value = await handlers.runChild(kind, payload, ctx);
      const clientId = (payload as { clientId: number }).clientId;
      if (kind === 'train') return (train.get(clientId)?.(value as TrainReply) ?? value) as typeof value;
      return (evaluation.get(clientId)?.(value as EvalReply) ?? value) as typeof value;
    },
    runParent: (kind, payload, outcomes) => handlers.runParent(kind, payload, outcomes),
  };
}

const mapCounts = (reply: EvalReply, f: (c: EvalReply['results'][string]) => EvalReply['results'][string]): EvalReply => ({
  ...reply,
  results: Object.fromEntries(Object.entries(reply.results).map(([name, c]) => [name, f(c)])),
});

// FedPer keeps a personal head per client, so train replies name a state blob too.
const config = syntheticExperiment({ algorithm: { name: 'fedper' }, rounds: 1, joinRatio: 1, eval: { every: 1 }, failures: { attempts: 2, minSuccessFraction: 0.1 } });

let root: string;
let store: LocalDirBlobStore;
let handlers: JobHandlers;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedsim-malicious-'));
  store = new LocalDirBlobStore(root);
  handlers = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
  // another run in the same store, whose blobs a forger points at
  await runExperiment(config, { runId: 'victim', store, transport: new EmbeddedTransport({ handlers, concurrency: 2 }) });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const read = async <T>(schema: { parse(x: unknown): T }, key: string): Promise<T> => schema.parse(JSON.parse(Buffer.from(await store.get(key)).toString('utf8')));

test('forged keys, counts and metrics are each refused with a coded reason; honest clients count', async () => {
  const train = new Map<number, ForgeTrain>([
    [0, (r) => ({ ...r, updateKey: keys.update('victim', 0, 0, 1) })],
    [1, (r) => ({ ...r, updateKey: keys.update('r', 0, 2, 1) })],
    [2, (r) => ({ ...r, stateKey: keys.trainedState('victim', 0, 2, 1) })],
    [3, (r) => ({ ...r, numSamples: r.numSamples * 10 })],
    [4, (r) => ({ ...r, updateKey: keys.update('r', 0, 4, 7), stateKey: keys.trainedState('r', 0, 4, 7) })],
  ]);
  const evaluation = new Map<number, ForgeEval>([
    [0, (r) => mapCounts(r, (c) => ({ ...c, total: c.total * 10, correct: c.total * 10 }))],
    [1, (r) => mapCounts(r, (c) => ({ ...c, correct: c.total + 1 }))],
    [2, (r) => mapCounts(r, (c) => ({ ...c, lossSum: -1 }))],
  ]);
  const transport = new EmbeddedTransport({ handlers: maliciousHandlers(handlers, train, evaluation), concurrency: 2 });
  const summary = await runExperiment(config, { runId: 'r', store, transport });

  const commit: CommitRecord = await read(commitRecordSchema, keys.commit('r', 0));
  assert.deepEqual(commit.succeeded, [5]);
  const trainReasons = new Map(commit.failures.map((f) => [f.clientId, `${f.code}: ${f.detail}`]));
  assert.match(trainReasons.get(0)!, /^forged: update key runs\/victim\/.* is not the update of run r, round 0, client 0/);
  assert.match(trainReasons.get(1)!, /^forged: update key .*updates\/2\/attempt-1\.bin is not the update of run r, round 0, client 1/);
  assert.match(trainReasons.get(2)!, /^forged: state key runs\/victim\/.* is not the state of run r, round 0, client 2, attempt 1/);
  assert.match(trainReasons.get(3)!, /^forged: reported \d+ samples, the partition gives it \d+/);
  assert.match(trainReasons.get(4)!, /^forged: update key .*attempt-7\.bin is not the update of run r, round 0, client 4, attempt 1-2/);
  // no forged state reached the index the next round would train from
  const index = await committedStateRefs(store, 'r', 0);
  for (const refs of index.values()) for (const { key } of Object.values(refs)) assert.match(key, /^runs\/r\//);
  assert.deepEqual([...index.keys()], [5]);

  const evalSummary: EvalSummary = await read(evalSummarySchema, keys.evalSummary('r', 1));
  const evalReasons = new Map(evalSummary.failures.map((f) => [f.clientId, `${f.code}: ${f.detail}`]));
  assert.match(evalReasons.get(0)!, /^forged: personalized: reported \d+ test samples, client 0 has \d+/);
  assert.match(evalReasons.get(1)!, /^forged: personalized: reported \d+ correct of \d+/);
  assert.match(evalReasons.get(2)!, /^forged: personalized: loss sum -1 /);
  assert.equal(evalSummary.results['personalized']!.clients, 3);
  assert.ok(summary.bestPersonalized && summary.bestPersonalized.accuracy <= 1);
  assert.equal(summary.failures.forged, 5);
});

test('a job payload naming another run\'s blobs is refused before any work', async () => {
  const labels = { experiment: config.name, algorithm: config.algorithm.name };
  const foreign = { head: { key: keys.trainedState('victim', 0, 1, 1), offset: 0, length: 4 } };
  const ctx = { attempt: 1, jobId: 'j' };
  await assert.rejects(
    handlers.runChild('train', { runId: 'r', labels, round: 0, clientId: 1, state: foreign, instructionKey: null }, ctx),
    (err: unknown) => err instanceof Error && err.name === 'InvalidJobError' && /state entry 'head' names runs\/victim\/.*, outside run r/.test(err.message),
  );
  await assert.rejects(
    handlers.runChild('train', { runId: 'r', labels, round: 0, clientId: 1, state: {}, instructionKey: keys.instruction('victim', 0, 1) }, ctx),
    /instruction key runs\/victim\/.* is outside run r/,
  );
  await assert.rejects(handlers.runChild('eval', { runId: 'r', labels, round: 1, clientId: 1, state: foreign }, ctx), /outside run r/);
  await assert.rejects(
    handlers.runParent('aggregate', { runId: 'r', labels, round: 1, clients: [1], nextClients: [], previousStateShards: [1] }, []),
    (err: unknown) => err instanceof InvalidJobError && /previous state map of run r before round 1 block 0 names version 1/.test(err.message),
  );
});

test('FedBuff: an update key of another dispatch, or without one, is forged; honest arrivals count', async () => {
  // Arrivals (fedbuff.test.ts): round 0 = clients 1 (dispatch 1), 2 (dispatch 2); round 1 = 3 (dispatch 0), 0 (dispatch 3).
  const fb = fedBuffExperiment({ rounds: 2, failures: { attempts: 2, minSuccessFraction: 0.1 } });
  const train = new Map<number, ForgeTrain>([
    [1, (r) => ({ ...r, updateKey: keys.update('fbr', 0, 1, 1) })],
    [3, (r) => ({ ...r, updateKey: keys.dispatchUpdate('fbr', 1, 3, 1) })],
  ]);
  const transport = new EmbeddedTransport({ handlers: maliciousHandlers(handlers, train, new Map()), concurrency: 2 });
  await runExperiment(fb, { runId: 'fbr', store, transport });
  const [first, second] = [await read(commitRecordSchema, keys.commit('fbr', 0)), await read(commitRecordSchema, keys.commit('fbr', 1))];
  assert.deepEqual([first.succeeded, second.succeeded], [[2], [0]]);
  assert.match(first.failures[0]!.detail, /^dispatch 1: update key .*updates\/1\/attempt-1\.bin is not the update of run fbr, round 0, client 1's dispatch 1/);
  assert.match(second.failures[0]!.detail, /^dispatch 0: update key .*dispatches\/3\/attempt-1\.bin is not the update of run fbr, round 1, client 3's dispatch 0/);
  assert.deepEqual([first.failures[0]!.code, second.failures[0]!.code], ['forged', 'forged']);
  const labels = { experiment: fb.name, algorithm: fb.algorithm.name };
  await assert.rejects(
    handlers.runChild('train', { runId: 'fbr', labels, round: 0, clientId: 1, state: {}, instructionKey: null, dispatch: { id: 9, baseVersion: 1 } }, { attempt: 1, jobId: 'j' }),
    (err: unknown) => err instanceof InvalidJobError && /starts from model version 1, after round 0/.test(err.message),
  );
  // An instruction of another dispatch or version (a patch or submask of the wrong model) is refused before training.
  for (const wrong of [keys.dispatchInstruction('fbr', 1, 3), keys.dispatchInstruction('fbr', 0, 2), keys.instruction('fbr', 1, 3)]) {
    await assert.rejects(
      handlers.runChild('train', { runId: 'fbr', labels, round: 1, clientId: 3, state: {}, instructionKey: wrong, dispatch: { id: 3, baseVersion: 0 } }, { attempt: 1, jobId: 'j' }),
      (err: unknown) => err instanceof InvalidJobError && /dispatch 3 names instruction .*, the run prepared runs\/fbr\/rounds\/000000\/dispatch-instructions\/3\.bin/.test(err.message),
    );
  }
});
