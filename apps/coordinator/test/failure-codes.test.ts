import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeParams, encodeParams } from '@fedsim/fl/params';
import { createModel } from '@fedsim/fl/models';
import type { JobHandlers, RunSummary, TrainPayload, TrainReply } from '@fedsim/runtime';
import { combineObservers, CSV_HEADER, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { createFedsimMetrics, metricsObserver } from '@fedsim/runtime/observability';
import { createHandlers } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from '../../../test/integration/fixtures.js';
import { ResultsFiles } from '../src/results-files.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-failure-codes-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a rejected update carries the same code into results.csv, summary.json and the metric label', async () => {
  const root = join(dir, 'store');
  const store = new LocalDirBlobStore(root);
  const inner = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
  const spec = createModel('mlp', { inputShape: [12], numClasses: 3 }).spec;
  // Client 0's round-0 update turns NaN after training: what a diverged or buggy worker delivers.
  const handlers: JobHandlers = {
    async runChild(kind, payload, ctx) {
      const reply = await inner.runChild(kind, payload, ctx);
      const p = payload as TrainPayload;
      if (kind === 'train' && p.round === 0 && p.clientId === 0) {
        const key = (reply as TrainReply).updateKey;
        const values = decodeParams(await store.get(key), spec).values.slice();
        values[1] = Number.NaN;
        await store.put(key, encodeParams(spec, values, {}));
      }
      return reply;
    },
    runParent: (kind, payload, outcomes) => inner.runParent(kind, payload, outcomes),
  };
  const config = syntheticExperiment({ rounds: 2, joinRatio: 1, eval: { every: 2 } });
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  const results = new ResultsFiles(join(dir, 'results'), 'codes', null);
  const transport = new EmbeddedTransport({ handlers, concurrency: 2 });
  let summary: RunSummary;
  try {
    summary = await runExperiment(config, {
      runId: 'codes',
      store,
      transport,
      observer: combineObservers(
        { onStart: (info) => results.start(config, info.resumedFrom, info.committed), onRound: (row) => results.append(row) },
        metricsObserver(metrics, config),
      ),
    });
    await results.finish(summary);
  } finally {
    await transport.close();
  }

  const csv = (await readFile(join(dir, 'results', 'results.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
  const column = CSV_HEADER.indexOf('failure_codes');
  assert.deepEqual(csv.slice(1).map((cells) => cells[column]), ['non_finite:1', '']);

  const written = JSON.parse(await readFile(join(dir, 'results', 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(written.failures.non_finite, 1);
  assert.equal(Object.values(written.failures).reduce((a, b) => a + b, 0), 1);

  const rejected = (await metrics.updatesRejected.get()).values.filter((v) => v.value > 0);
  assert.deepEqual(rejected.map((v) => [v.labels['reason'], v.value]), [['non_finite', 1]]);
});
