import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keys, RunFailedError, runExperiment } from '@fedsim/runtime';
import type { RoundRow } from '@fedsim/runtime';
import { EmbeddedTransport } from '@fedsim/runtime/adapters';
import type { JobHandlers } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { createHandlers } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-embedded-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('an embedded run trains, evaluates, commits every round and resumes as a no-op', async () => {
  const config = syntheticExperiment();
  const rows: RoundRow[] = [];
  const rt = await embeddedRuntime({ root: dir, workers: 2, backend: 'wasm' });
  try {
    const summary = await runExperiment(config, {
      runId: 'e1',
      store: rt.store,
      transport: rt.transport,
      observer: { onRound: (r) => void rows.push(r) },
    });
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => r.round), [0, 1, 2]);
    for (const r of rows) {
      assert.equal(r.clients, 3);
      assert.equal(r.succeeded, 3);
      assert.equal(r.failed, 0);
      assert.ok(r.trainLoss !== null && Number.isFinite(r.trainLoss));
      assert.ok(r.uploadBytes > 0 && r.downloadBytes > 0);
    }
    // Evaluation after rounds 2 (every 2) and 3 (the end).
    assert.ok(rows[1]!.evaluation && rows[2]!.evaluation && !rows[0]!.evaluation);
    const personalized = rows[2]!.evaluation!['personalized']!;
    assert.equal(personalized.clients, 6);
    assert.ok(personalized.pooledAccuracy > 0.34, `synthetic data is separable: got ${personalized.pooledAccuracy}`);
    assert.ok(personalized.min <= personalized.mean && personalized.mean <= personalized.max);
    assert.match(summary.finalModelSha256, /^[0-9a-f]{64}$/);
    assert.ok(await rt.store.exists(keys.commit('e1', 2)));

    const again = await runExperiment(config, { runId: 'e1', store: rt.store, transport: rt.transport });
    assert.equal(again.finalModelSha256, summary.finalModelSha256, 'resuming a finished run changes nothing');
    assert.equal(again.bestPersonalized?.accuracy, summary.bestPersonalized?.accuracy);

    const other = syntheticExperiment({ rounds: 4 });
    await assert.rejects(
      runExperiment(other, { runId: 'e1', store: rt.store, transport: rt.transport }),
      (err: unknown) => err instanceof RunFailedError && /different config/.test(err.message),
    );
  } finally {
    await rt.close();
  }
});

/** Handlers that fail train jobs of chosen clients, to drive the engine's failure paths. */
async function failingHandlers(failClients: Set<number>, root: string): Promise<JobHandlers> {
  const inner = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
  return {
    runChild(kind, payload, ctx) {
      const clientId = 'clientId' in payload ? payload.clientId : -1;
      if (kind === 'train' && failClients.has(clientId)) return Promise.reject(new Error(`injected failure of client ${clientId}`));
      return inner.runChild(kind, payload, ctx);
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  };
}

test('a failing client is recorded and the round aggregates the rest', async () => {
  const root = join(dir, 'f1');
  const config = syntheticExperiment({ rounds: 2, joinRatio: 1, failures: { attempts: 2, minSuccessFraction: 0.5 } });
  const handlers = await failingHandlers(new Set([2]), root);
  const { LocalDirBlobStore } = await import('@fedsim/runtime/adapters');
  const store = new LocalDirBlobStore(root);
  const transport = new EmbeddedTransport({ handlers, concurrency: 1 });
  const rows: RoundRow[] = [];
  await runExperiment(config, { runId: 'f1', store, transport, observer: { onRound: (r) => void rows.push(r) } });
  for (const r of rows) {
    assert.equal(r.succeeded, 5);
    assert.equal(r.failed, 1);
    assert.equal(r.failures[0]!.clientId, 2);
    assert.match(r.failures[0]!.detail, /injected failure of client 2/);
  }
});

test('too few successful clients stops the run with a clear error and keeps committed rounds', async () => {
  const root = join(dir, 'f2');
  const config = syntheticExperiment({ rounds: 2, joinRatio: 1, failures: { attempts: 1, minSuccessFraction: 0.9 } });
  const handlers = await failingHandlers(new Set([0, 1]), root);
  const { LocalDirBlobStore } = await import('@fedsim/runtime/adapters');
  const store = new LocalDirBlobStore(root);
  await assert.rejects(
    runExperiment(config, { runId: 'f2', store, transport: new EmbeddedTransport({ handlers, concurrency: 2 }) }),
    (err: unknown) =>
      err instanceof RunFailedError &&
      /round 0 failed: only 4 of 6 clients/.test(err.message) &&
      /minSuccessFraction=0.9 requires 6/.test(err.message) &&
      /client 0: .*injected/.test(err.message),
  );
  assert.ok(await store.exists(keys.run('f2')), 'the run record and inputs are kept for a resume');
  assert.ok(JSON.parse(await readFile(join(root, keys.run('f2')), 'utf8')).configHash);
});
