import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeJson } from '@fedsim/runtime/engine';
import { keys, runExperiment } from '@fedsim/runtime';
import type { ExperimentConfig, JobHandlers, RoundRow, RunSummary } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';
import { countingJobs } from './job-counting.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-cohorts-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Ran {
  readonly summary: RunSummary;
  readonly rows: RoundRow[];
  readonly jobKinds: Map<string, number>;
  readonly keys: string[];
}

async function run(config: ExperimentConfig, runId: string, threads: number, wrap?: (h: JobHandlers) => JobHandlers): Promise<Ran> {
  const jobKinds = new Map<string, number>();
  const rows: RoundRow[] = [];
  const rt = await embeddedRuntime({
    root: join(dir, `${runId}-${threads}`),
    workers: threads,
    backend: 'wasm',
    instrument: countingJobs(jobKinds, wrap),
  });
  try {
    const summary = await runExperiment(config, { runId, store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    return { summary, rows, jobKinds, keys: await rt.store.list(`runs/${runId}/rounds/`) };
  } finally {
    await rt.close();
  }
}

test('cohorts of 2: one job per cohort, partial sums instead of updates, the same model with 1 or 2 threads', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, storage: { gc: 'off' } });
  const one = await run(config, 'c2', 1);
  const two = await run(config, 'c2', 2);
  assert.equal(one.summary.finalModelSha256, two.summary.finalModelSha256);
  assert.deepEqual(one.summary.final, two.summary.final);
  // 6 clients a round in cohorts of 2, over 3 rounds
  assert.equal(one.jobKinds.get('trainCohort'), 9);
  assert.equal(one.jobKinds.get('train'), undefined);
  assert.equal(one.keys.filter((k) => k.includes('/partials/')).length, 9);
  assert.equal(one.keys.filter((k) => k.includes('/updates/')).length, 0, 'a weighted-mean algorithm stores no per-client update');
  for (const r of one.rows) assert.equal(r.succeeded, 6);

  // One job per client trains the same clients; the sums differ at most in float64 rounding.
  const single = await run({ ...config, cohortSize: 1 }, 'c1', 1);
  assert.equal(single.jobKinds.get('trainCohort'), undefined);
  assert.equal(single.jobKinds.get('train'), 18);
  assert.deepEqual(
    single.rows.map((r) => r.trainLoss!.toFixed(5)),
    one.rows.map((r) => r.trainLoss!.toFixed(5)),
  );
  const accuracy = (s: RunSummary) => s.final!.results['personalized']!.pooledAccuracy;
  assert.ok(Math.abs(accuracy(single.summary) - accuracy(one.summary)) < 0.02);
});

test('a client failing inside a cohort is recorded for that client; its cohort-mates are aggregated', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 3, rounds: 1 });
  // Client 4 names a state blob that does not exist: its training fails, and only its own.
  const breakClient4 = (inner: JobHandlers): JobHandlers => ({
    runChild(kind, payload, ctx) {
      if (kind === 'trainCohort' && 'clients' in payload) {
        const clients = payload.clients.map((c) => (c.clientId === 4 ? { ...c, state: { personal: { key: 'runs/c3/missing.bin', offset: 0, length: 4 } } } : c));
        return inner.runChild(kind, { ...payload, clients }, ctx);
      }
      return inner.runChild(kind, payload, ctx);
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  });
  const ran = await run(config, 'c3', 1, breakClient4);
  const row = ran.rows[0]!;
  assert.equal(row.succeeded, 5);
  assert.deepEqual(row.failures.map((f) => [f.clientId, f.code]), [[4, 'error']]);
  assert.match(row.failures[0]!.detail, /missing\.bin/);
  assert.equal(ran.jobKinds.get('trainCohort'), 2, 'no cohort was retried');
  const commit = decodeJson(await (await embeddedStore('c3-1')).get(keys.commit('c3', 0))) as { succeeded: number[] };
  assert.deepEqual(commit.succeeded, [0, 1, 2, 3, 5]);
});

async function embeddedStore(root: string) {
  const { LocalDirBlobStore } = await import('@fedsim/runtime/adapters');
  return new LocalDirBlobStore(join(dir, root));
}

test('a cohort reply that misreports one client\'s samples refuses the whole partial, recorded per client', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 3, rounds: 1, failures: { minSuccessFraction: 0.4 } });
  const forgeCount = (inner: JobHandlers): JobHandlers => ({
    async runChild(kind, payload, ctx) {
      const reply = await inner.runChild(kind, payload, ctx);
      if (kind !== 'trainCohort' || !('partialKey' in reply)) return reply;
      return { ...reply, clients: reply.clients.map((c) => (c.ok && c.clientId === 4 ? { ...c, numSamples: c.numSamples + 100 } : c)) };
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  });
  const ran = await run(config, 'c4', 1, forgeCount);
  const row = ran.rows[0]!;
  const cohortOf4 = row.failures.map((f) => f.clientId);
  assert.equal(row.succeeded, 3);
  assert.ok(cohortOf4.includes(4) && cohortOf4.length === 3, `failures ${cohortOf4.join(',')}`);
  for (const f of row.failures) {
    assert.equal(f.code, 'forged');
    assert.match(f.detail, /client 4 reported a sample count/);
  }
});

test('a cohort reply naming a partial key the run did not assign is refused as forged, never read', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 3, rounds: 1, failures: { minSuccessFraction: 0.4 } });
  const forgeKey = (inner: JobHandlers): JobHandlers => ({
    async runChild(kind, payload, ctx) {
      const reply = await inner.runChild(kind, payload, ctx);
      if (kind !== 'trainCohort' || !('partialKey' in reply) || !reply.partialKey || !reply.clients.some((c) => c.clientId === 4)) return reply;
      return { ...reply, partialKey: reply.partialKey.replace('/c6/', '/another-run/') };
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  });
  const ran = await run(config, 'c6', 1, forgeKey);
  const row = ran.rows[0]!;
  assert.equal(row.succeeded, 3);
  assert.equal(row.failures.length, 3);
  for (const f of row.failures) {
    assert.equal(f.code, 'forged');
    assert.match(f.detail, /partial key .*another-run/);
  }
});

test('cohorts without a sum aggregation store every update; cohorts keep per-client state', async () => {
  // A robust combine needs each update: cohorts train together but upload one by one.
  const robust = await run(syntheticExperiment({ joinRatio: 1, cohortSize: 2, rounds: 2, aggregation: { robust: 'median' }, storage: { gc: 'off' } }), 'c5', 2);
  assert.equal(robust.jobKinds.get('trainCohort'), 6);
  assert.equal(robust.keys.filter((k) => k.includes('/partials/')).length, 0);
  assert.equal(robust.keys.filter((k) => k.includes('/updates/')).length, 12);
  for (const r of robust.rows) assert.equal(r.succeeded, 6);

  // Ditto keeps v_i per client: packed per cohort (one blob for its 3 clients), found by the next round's jobs.
  const ditto = await run(syntheticExperiment({ joinRatio: 1, cohortSize: 3, rounds: 2, algorithm: { name: 'ditto' }, storage: { gc: 'off' } }), 'c6', 2);
  assert.equal(ditto.keys.filter((k) => k.includes('/partials/')).length, 4);
  const packs = ditto.keys.filter((k) => /\/rounds\/000000\/state\//.test(k));
  assert.deepEqual(packs.map((k) => k.replace(/^.*\/state\//, '')), ['cohort-0/attempt-1.bin', 'cohort-1/attempt-1.bin']);
  assert.equal(ditto.keys.filter((k) => /\/rounds\/000000\/state-shards\//.test(k)).length, 1, 'one location block for 6 clients');
  for (const r of ditto.rows) assert.equal(r.succeeded, 6);
});

test('FIARSE and HeteroFL cohorts write element-wise partials: the same model with 1 or 2 threads', async () => {
  for (const name of ['fiarse', 'heterofl']) {
    const config = syntheticExperiment({ joinRatio: 1, cohortSize: 3, rounds: 2, eval: { every: 5 }, algorithm: { name }, storage: { gc: 'off' } });
    const one = await run(config, `sub-${name}`, 1);
    const two = await run(config, `sub-${name}`, 2);
    assert.equal(one.summary.finalModelSha256, two.summary.finalModelSha256, name);
    assert.equal(one.keys.filter((k) => k.includes('/partials/')).length, 4, `${name}: one partial per cohort`);
    assert.equal(one.keys.filter((k) => k.includes('/updates/')).length, 0, `${name}: no per-client update`);
    for (const r of one.rows) assert.equal(r.succeeded, 6);
  }
});

const commitOf = async (root: string, runId: string, round: number) =>
  decodeJson(await (await embeddedStore(root)).get(keys.commit(runId, round))) as { succeeded: number[]; reads: Record<string, number> };

test('tree aggregation: reduce jobs sum groups of cohorts; the same model with 1 or 2 threads, close to the flat sum', async () => {
  // 6 clients in 3 cohorts of 2; groups of 2 cohorts: 2 reduce jobs, the aggregation reads 2 partials instead of 3
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, storage: { gc: 'off' } });
  const one = await run(config, 't1', 1);
  const two = await run(config, 't1', 2);
  assert.equal(one.summary.finalModelSha256, two.summary.finalModelSha256);
  assert.equal(one.keys.filter((k) => k.includes('/reduced/')).length, 6, 'two reduced partials a round');
  const commit = await commitOf('t1-1', 't1', 0);
  assert.deepEqual(commit.succeeded, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(commit.reads, { aggregate: 2, reduceJobs: 2, maxPerReduceJob: 2 });
  const flat = await run({ ...config, reduceFanIn: 'auto' }, 't0', 1);
  assert.equal(flat.keys.filter((k) => k.includes('/reduced/')).length, 0, 'no tree below the fan-in');
  assert.deepEqual((await commitOf('t0-1', 't0', 0)).reads, { aggregate: 3, reduceJobs: 0, maxPerReduceJob: 0 });
  assert.deepEqual(flat.rows.map((r) => r.trainLoss!.toFixed(5)), one.rows.map((r) => r.trainLoss!.toFixed(5)));
});

test('tree aggregation: a failed cohort is recorded and its group still reduces the rest; a forged reduce key is refused', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, rounds: 1, failures: { minSuccessFraction: 0.3, attempts: 2 } });
  const failCohort0 = (inner: JobHandlers): JobHandlers => ({
    runChild(kind, payload, ctx) {
      if (kind === 'trainCohort' && 'cohort' in payload && payload.cohort === 0) return Promise.reject(new Error('worker lost'));
      return inner.runChild(kind, payload, ctx);
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  });
  const failed = await run(config, 't2', 1, failCohort0);
  const row = failed.rows[0]!;
  assert.equal(row.succeeded, 4);
  assert.equal(row.failures.length, 2);
  for (const f of row.failures) {
    assert.equal(f.code, 'error');
    assert.match(f.detail, /cohort 0: .*worker lost/);
  }
  assert.deepEqual((await commitOf('t2-1', 't2', 0)).reads, { aggregate: 2, reduceJobs: 2, maxPerReduceJob: 1 });

  // A reduce job naming another run's blob as its sum: its group's clients are refused, never read.
  const forgeReduce = (inner: JobHandlers): JobHandlers => ({
    runChild: (kind, payload, ctx) => inner.runChild(kind, payload, ctx),
    async runParent(kind, payload, outcomes) {
      const reply = await inner.runParent(kind, payload, outcomes);
      if (kind !== 'reduce' || !('summed' in reply) || !reply.partialKey || !('group' in payload) || payload.group !== 0) return reply;
      return { ...reply, partialKey: reply.partialKey.replace('/t3/', '/another-run/') };
    },
  });
  const forged = await run(config, 't3', 1, forgeReduce);
  const forgedRow = forged.rows[0]!;
  assert.equal(forgedRow.succeeded, 2);
  assert.equal(forgedRow.failures.length, 4);
  for (const f of forgedRow.failures) {
    assert.equal(f.code, 'forged');
    assert.match(f.detail, /reduce 0's partial: partial key .*another-run/);
  }
});

test('tree aggregation: a reduce reply that leaves out a cohort is refused for its group; a tree run resumes to the same bytes', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, rounds: 1, failures: { minSuccessFraction: 0.3 } });
  const dropCohort = (inner: JobHandlers): JobHandlers => ({
    runChild: (kind, payload, ctx) => inner.runChild(kind, payload, ctx),
    async runParent(kind, payload, outcomes) {
      const reply = await inner.runParent(kind, payload, outcomes);
      if (kind !== 'reduce' || !('summed' in reply) || !('group' in payload) || payload.group !== 0) return reply;
      return { ...reply, summed: reply.summed.slice(1) };
    },
  });
  const row = (await run(config, 't4', 1, dropCohort)).rows[0]!;
  assert.equal(row.succeeded, 2);
  for (const f of row.failures) {
    assert.equal(f.code, 'malformed');
    assert.match(f.detail, /reduce 0's partial: accounts for cohorts 1, their replies name partials of cohorts 0,1/);
  }

  // resume: the rounds after round 0's commit run again, through their reduce jobs, to the same model
  const three = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, rounds: 3 });
  const full = await run(three, 't5', 1);
  const store = await embeddedStore('t5-1');
  for (const round of [1, 2]) await store.delete(keys.commit('t5', round));
  for (const key of await store.list('runs/t5/evals/')) await store.delete(key);
  const resumed = await run(three, 't5', 1);
  assert.equal(resumed.rows.length, 2, 'rounds 1 and 2 ran again');
  assert.equal(resumed.summary.finalModelSha256, full.summary.finalModelSha256);
});

test('tree aggregation: a reduce job that fails for good fails its group\'s clients; the other groups are aggregated', async () => {
  const config = syntheticExperiment({ joinRatio: 1, cohortSize: 2, reduceFanIn: 2, rounds: 1, failures: { minSuccessFraction: 0.3 } });
  const failGroup0 = (inner: JobHandlers): JobHandlers => ({
    runChild: (kind, payload, ctx) => inner.runChild(kind, payload, ctx),
    runParent(kind, payload, outcomes) {
      if (kind === 'reduce' && 'group' in payload && payload.group === 0) return Promise.reject(new Error('reducer out of memory'));
      return inner.runParent(kind, payload, outcomes);
    },
  });
  const row = (await run(config, 't6', 1, failGroup0)).rows[0]!;
  assert.equal(row.succeeded, 2);
  assert.equal(row.failures.length, 4);
  for (const f of row.failures) {
    assert.equal(f.code, 'error');
    assert.match(f.detail, /reduce of cohorts 0-1: .*reducer out of memory/);
  }
});
