import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ChildOutcome, EvalCohortReply, EvalSummary, ExperimentConfig, JobHandlers, RunSummary } from '@fedsim/runtime';
import { evalSummarySchema, keys, runExperiment } from '@fedsim/runtime';
import { committedStateRefs, decodeJson } from '@fedsim/runtime/engine';
import { createHandlers, embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';
import { countingJobs } from './job-counting.js';

/**
 * Evaluation in cohorts: one `evalCohort` job per cohort, θ_g fetched once, one reply carrying
 * every client's counts; the same summary as one `eval` job per client, with the same trust
 * checks and failures per client.
 */
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-eval-cohorts-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ctx = (jobId: string) => ({ attempt: 1, jobId });
const labels = (config: ExperimentConfig) => ({ experiment: config.name, algorithm: config.algorithm.name });

async function run(config: ExperimentConfig, runId: string, wrap?: (h: JobHandlers) => JobHandlers) {
  const jobKinds = new Map<string, number>();
  const root = join(dir, runId);
  const rt = await embeddedRuntime({
    root,
    workers: 2,
    backend: 'wasm',
    instrument: countingJobs(jobKinds, wrap),
  });
  try {
    const summary: RunSummary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport });
    const evaluation = async (round: number): Promise<EvalSummary> => evalSummarySchema.parse(decodeJson(await rt.store.get(keys.evalSummary(runId, round))));
    return { summary, jobKinds, root, lastEval: await evaluation(config.rounds) };
  } finally {
    await rt.close();
  }
}

// FedPer: each client evaluates with its own stored head, so cohorts must carry every client's state.
const base = { algorithm: { name: 'fedper' }, rounds: 2, joinRatio: 1, eval: { every: 1 } };

test('evaluation in cohorts: one job per cohort, the same summary as one eval job per client', async () => {
  const config = syntheticExperiment({ ...base, cohortSize: 4 });
  const ran = await run(config, 'e1');
  // 6 clients in cohorts of at most 4: 2 cohorts, after each of the 2 rounds
  assert.equal(ran.jobKinds.get('evalCohort'), 4);
  assert.equal(ran.jobKinds.get('eval'), undefined);
  assert.equal(ran.lastEval.failures.length, 0);
  assert.deepEqual(Object.keys(ran.lastEval.perClient).sort(), ['0', '1', '2', '3', '4', '5']);

  // The same stored model and states, evaluated one job per client: identical counts and statistics.
  const handlers = await createHandlers({ store: { kind: 'dir', root: ran.root }, backend: 'wasm' });
  const index = await committedStateRefs(await openStore(ran.root), 'e1', 1);
  const clients = [0, 1, 2, 3, 4, 5];
  const outcomes: ChildOutcome[] = [];
  for (const clientId of clients) {
    const value = await handlers.runChild('eval', { runId: 'e1', labels: labels(config), round: 2, clientId, state: index.get(clientId) ?? {} }, ctx(String(clientId)));
    outcomes.push({ id: String(clientId), ok: true, value });
  }
  const perClient = await handlers.runParent('evalSummary', { runId: 'e1', labels: labels(config), round: 2, clients }, outcomes);
  assert.deepEqual(perClient, ran.lastEval);
});

async function openStore(root: string) {
  const { LocalDirBlobStore } = await import('@fedsim/runtime/adapters');
  return new LocalDirBlobStore(root);
}

const rewriteCohortReplies = (edit: (reply: EvalCohortReply) => EvalCohortReply) => (inner: JobHandlers): JobHandlers => ({
  async runChild(kind, payload, c) {
    const reply = await inner.runChild(kind, payload, c);
    return kind === 'evalCohort' ? (edit(reply as EvalCohortReply) as typeof reply) : reply;
  },
  runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
});

test('forged or malformed counts inside a cohort reply refuse that client only; its cohort-mates count', async () => {
  const config = syntheticExperiment({ ...base, rounds: 1, cohortSize: 3 });
  const forge = rewriteCohortReplies((reply) => ({
    ...reply,
    clients: reply.clients.map((c) => {
      if (!c.ok) return c;
      const results = Object.fromEntries(Object.entries(c.results).map(([name, r]) => {
        if (c.clientId === 1) return [name, { ...r, total: r.total * 10, correct: r.total * 10 }];
        if (c.clientId === 2) return [name, { ...r, correct: r.total + 1 }];
        if (c.clientId === 4) return [name, { ...r, lossSum: Number.NaN }];
        return [name, r];
      }));
      return { ...c, results };
    }),
  }));
  const ran = await run(config, 'e2', forge);
  const reasons = new Map(ran.lastEval.failures.map((f) => [f.clientId, `${f.code}: ${f.detail}`]));
  assert.deepEqual([...reasons.keys()].sort(), [1, 2, 4]);
  assert.match(reasons.get(1)!, /^forged: personalized: reported \d+ test samples, client 1 has \d+/);
  assert.match(reasons.get(2)!, /^forged: personalized: reported \d+ correct of \d+/);
  assert.match(reasons.get(4)!, /^malformed: .*lossSum/);
  assert.equal(ran.lastEval.results['personalized']!.clients, 3);
  assert.deepEqual(Object.keys(ran.lastEval.perClient).sort(), ['0', '3', '5']);
});

test('a cohort reply naming other clients is malformed for the whole cohort; a client that throws fails alone', async () => {
  const config = syntheticExperiment({ ...base, rounds: 1, cohortSize: 3 });
  const swapped = rewriteCohortReplies((reply) => ({ ...reply, clients: [...reply.clients].reverse() }));
  const ran = await run(config, 'e3', swapped);
  assert.equal(ran.lastEval.failures.length, 6);
  for (const f of ran.lastEval.failures) assert.match(`${f.code}: ${f.detail}`, /^malformed: cohort \d: the reply names clients/);

  // Client 3's state blob is gone: its evaluation throws; the job and its cohort-mates carry on.
  const breakClient3 = (inner: JobHandlers): JobHandlers => ({
    runChild(kind, payload, c) {
      if (kind === 'evalCohort' && 'clients' in payload) {
        const clients = payload.clients.map((cl) => (cl.clientId === 3 ? { ...cl, state: { head: { key: 'runs/e4/missing.bin', offset: 0, length: 1 } } } : cl));
        return inner.runChild(kind, { ...payload, clients }, c);
      }
      return inner.runChild(kind, payload, c);
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  });
  const broken = await run(config, 'e4', breakClient3);
  assert.deepEqual(broken.lastEval.failures.map((f) => [f.clientId, f.code]), [[3, 'error']]);
  assert.match(broken.lastEval.failures[0]!.detail, /missing\.bin/);
  assert.equal(broken.lastEval.results['personalized']!.clients, 5);
  assert.equal(broken.jobKinds.get('evalCohort'), 2, 'no cohort was retried');
});

test('an evalCohort payload naming another run\'s blobs is refused before any work', async () => {
  const config = syntheticExperiment({ ...base, rounds: 1, cohortSize: 3 });
  const ran = await run(config, 'e5');
  const handlers = await createHandlers({ store: { kind: 'dir', root: ran.root }, backend: 'wasm' });
  const foreign = { head: { key: keys.trainedState('victim', 0, 1, 1), offset: 0, length: 1 } };
  await assert.rejects(
    handlers.runChild('evalCohort', { runId: 'e5', labels: labels(config), round: 1, cohort: 0, clients: [{ clientId: 0, state: {} }, { clientId: 1, state: foreign }] }, ctx('cohort-0')),
    (err: unknown) => err instanceof Error && err.name === 'InvalidJobError' && /state entry 'head' names runs\/victim\/.*, outside run e5/.test(err.message),
  );
});
