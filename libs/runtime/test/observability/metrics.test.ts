import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  ALLOWED_LABEL_NAMES,
  FEDSIM_METRIC_NAMES,
  METRIC_CATALOG,
  createFedsimMetrics,
  fedsimMetricNames,
  safeLabelValue,
} from '../../src/observability/index.js';
import { find, parseExposition, valueOf } from './exposition.js';

const exp = { experiment: 'fmnist-dir0.1', algorithm: 'fedavg' };

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

test('registers every catalog metric with its type, plus the default process metrics', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator' });
  const text = await metrics.registry.metrics();
  const { types } = parseExposition(text);
  for (const spec of Object.values(METRIC_CATALOG)) {
    assert.equal(types.get(`fedsim_${spec.name}`), spec.type, `fedsim_${spec.name}`);
  }
  assert.deepEqual([...metrics.names], [...FEDSIM_METRIC_NAMES]);
  assert.ok(types.has('process_cpu_seconds_total'));
  assert.ok(types.has('nodejs_heap_size_used_bytes'));
  assert.equal(valueOf(parseExposition(text), 'fedsim_build_info', { role: 'coordinator' }), 1);
});

test('metric names follow Prometheus conventions', () => {
  for (const name of FEDSIM_METRIC_NAMES) {
    assert.match(name, /^fedsim_[a-z][a-z0-9_]*$/);
    const spec = Object.values(METRIC_CATALOG).find((s) => `fedsim_${s.name}` === name)!;
    if (spec.type === 'counter') assert.match(name, /_total$/, `${name}: counters end in _total`);
    else assert.doesNotMatch(name, /_total$/, `${name}: only counters end in _total`);
    if (name.includes('duration')) assert.match(name, /_seconds$/, `${name}: durations are in seconds`);
    if (name.includes('bytes')) assert.match(name, /_bytes(_total)?$/, `${name}: sizes are in bytes`);
  }
});

test('a custom namespace prefixes every name; a bad one is refused', async () => {
  const metrics = createFedsimMetrics({ role: 'worker', namespace: 'acme', defaultMetrics: false });
  const { types } = await scrape(metrics.registry);
  assert.deepEqual([...types.keys()].sort(), fedsimMetricNames('acme').sort());
  assert.throws(() => createFedsimMetrics({ role: 'worker', namespace: 'bad-name' }), /namespace 'bad-name'/);
});

test('label hygiene: only allowed label names, never client or round labels', async () => {
  for (const spec of Object.values(METRIC_CATALOG)) {
    for (const label of spec.labelNames) {
      assert.ok(ALLOWED_LABEL_NAMES.includes(label), `${spec.name} has label '${label}'`);
      assert.doesNotMatch(label, /client|round|user|key|id$/i, `${spec.name} has label '${label}'`);
    }
  }
  // Exercise every helper with client ids and round numbers in play, then inspect the output.
  const metrics = createFedsimMetrics({ role: 'worker', defaultMetrics: false });
  const labels = metrics.experimentLabels(exp.experiment, exp.algorithm);
  const round = metrics.startRound(labels, { round: 417, clients: 10, deadlineSeconds: 120 });
  for (const clientId of ['client-73', 'client-88']) {
    metrics.startJob({ ...labels, job_kind: 'train', backend: 'wasm', pool: 'default' }, 1).done('completed');
    metrics.recordClientFailure(labels, 'train', 'deadline');
    assert.ok(clientId);
  }
  metrics.recordRejectedUpdate(labels, 'non_finite');
  metrics.recordEvaluation(labels, 'pooled', { accuracy: 0.8, loss: 0.5 });
  round.commit();
  const { samples } = await scrape(metrics.registry);
  for (const sample of samples) {
    for (const [name, value] of Object.entries(sample.labels)) {
      assert.ok(name === 'le' || ALLOWED_LABEL_NAMES.includes(name), `${sample.name} has label ${name}`);
      assert.notEqual(value, '417', `${sample.name}: round number as a label value`);
      assert.doesNotMatch(value, /client-\d+/, `${sample.name}: client id as a label value`);
    }
  }
  assert.equal(valueOf({ samples, types: new Map() }, 'fedsim_current_round', exp), 417);
});

test('round lifecycle: current round, clients, deadline, commit count and duration', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  const labels = metrics.experimentLabels(exp.experiment, exp.algorithm);
  metrics.roundsPlanned.set(labels, 20);
  const first = metrics.startRound(labels, { round: 0, clients: 10, deadlineSeconds: 60 });
  let out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_round_in_progress', exp), 1);
  assert.equal(valueOf(out, 'fedsim_clients_per_round', exp), 10);
  assert.equal(valueOf(out, 'fedsim_round_deadline_seconds', exp), 60);
  const started = valueOf(out, 'fedsim_round_started_timestamp_seconds', exp)!;
  assert.ok(Math.abs(started - Date.now() / 1000) < 60, 'start timestamp is a Unix time in seconds');
  const seconds = first.commit();
  assert.ok(seconds >= 0);
  assert.equal(first.commit(), 0, 'a second commit is ignored');
  metrics.startRound(labels, { round: 1, clients: 8, deadlineSeconds: 60 }).abandon();
  out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_rounds_committed_total', exp), 1);
  assert.equal(valueOf(out, 'fedsim_round_duration_seconds_count', exp), 1);
  assert.equal(valueOf(out, 'fedsim_round_in_progress', exp), 0);
  assert.equal(valueOf(out, 'fedsim_current_round', exp), 1);
  assert.equal(valueOf(out, 'fedsim_clients_per_round', exp), 8);
  assert.equal(valueOf(out, 'fedsim_rounds_planned', exp), 20);
});

test('job lifecycle: busy slots, retries, duration by kind/backend/pool, outcome', async () => {
  const metrics = createFedsimMetrics({ role: 'worker', defaultMetrics: false });
  const labels = metrics.experimentLabels(exp.experiment, exp.algorithm);
  metrics.setWorkerConcurrency('gpu', 'tensorflow-gpu', 4);
  const job = { ...labels, job_kind: 'train' as const, backend: 'tensorflow-gpu' as const, pool: 'gpu' };
  const a = metrics.startJob(job, 1);
  const b = metrics.startJob(job, 3);
  let out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_worker_busy_slots', { pool: 'gpu' }), 2);
  assert.equal(valueOf(out, 'fedsim_worker_concurrency', { pool: 'gpu', backend: 'tensorflow-gpu' }), 4);
  assert.equal(valueOf(out, 'fedsim_job_retries_total', { ...exp, job_kind: 'train', pool: 'gpu' }), 1);
  a.done('completed');
  const first = b.done('failed');
  assert.equal(b.done('completed'), first, 'done() is idempotent');
  out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_worker_busy_slots', { pool: 'gpu' }), 0);
  const jobLabels = { ...exp, job_kind: 'train', backend: 'tensorflow-gpu', pool: 'gpu' };
  assert.equal(valueOf(out, 'fedsim_job_duration_seconds_count', jobLabels), 2);
  assert.equal(valueOf(out, 'fedsim_jobs_total', { ...jobLabels, outcome: 'completed' }), 1);
  assert.equal(valueOf(out, 'fedsim_jobs_total', { ...jobLabels, outcome: 'failed' }), 1);
  assert.equal(valueOf(out, 'fedsim_job_duration_seconds_bucket', { ...jobLabels, le: '+Inf' }), 2);
});

test('counter series exist at 0 before their first event, so rate() and increase() see it', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  let out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_blob_transfer_bytes_total', { direction: 'upload' }), 0);
  assert.equal(valueOf(out, 'fedsim_updates_rejected_total', exp), undefined, 'nothing experiment-scoped before it starts');
  const labels = metrics.experimentLabels(exp.experiment, exp.algorithm);
  metrics.startExperiment(labels);
  out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_rounds_committed_total', exp), 0);
  assert.equal(valueOf(out, 'fedsim_client_updates_total', exp), 0);
  assert.equal(valueOf(out, 'fedsim_client_failures_total', { ...exp, job_kind: 'train', reason: 'error' }), 0);
  assert.equal(valueOf(out, 'fedsim_client_failures_total', { ...exp, job_kind: 'eval', reason: 'deadline' }), 0);
  assert.equal(valueOf(out, 'fedsim_updates_rejected_total', { ...exp, reason: 'non_finite' }), 0);
  metrics.recordRejectedUpdate(labels, 'non_finite');
  out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_updates_rejected_total', { ...exp, reason: 'non_finite' }), 1);

  const worker = createFedsimMetrics({ role: 'worker', defaultMetrics: false });
  const job = { ...labels, job_kind: 'train' as const, backend: 'wasm' as const, pool: 'default' };
  worker.startJob(job, 1).done('completed');
  out = await scrape(worker.registry);
  assert.equal(valueOf(out, 'fedsim_job_retries_total', { ...exp, job_kind: 'train', pool: 'default' }), 0);
  assert.equal(valueOf(out, 'fedsim_jobs_total', { ...exp, job_kind: 'train', outcome: 'failed' }), 0);
  assert.equal(valueOf(out, 'fedsim_jobs_total', { ...exp, job_kind: 'train', outcome: 'completed' }), 1);
});

test('evaluation, failures, rejections and blob bytes', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  const labels = metrics.experimentLabels(exp.experiment, exp.algorithm);
  metrics.recordEvaluation(labels, 'pooled', { accuracy: 0.91, loss: 0.27 });
  metrics.recordEvaluation(labels, 'pooled', { accuracy: Number.NaN, loss: 0.25 });
  metrics.recordClientFailure(labels, 'train', 'error');
  metrics.recordClientFailure(labels, 'train', 'error');
  metrics.recordRejectedUpdate(labels, 'shape_mismatch');
  metrics.recordBlobTransfer('upload', 1024);
  metrics.recordBlobTransfer('upload', -5);
  metrics.recordBlobTransfer('download', 4096);
  const out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_eval_accuracy_ratio', { ...exp, view: 'pooled' }), 0.91, 'NaN does not overwrite');
  assert.equal(valueOf(out, 'fedsim_eval_loss', { ...exp, view: 'pooled' }), 0.25);
  assert.equal(valueOf(out, 'fedsim_client_failures_total', { ...exp, job_kind: 'train', reason: 'error' }), 2);
  assert.equal(valueOf(out, 'fedsim_updates_rejected_total', { ...exp, reason: 'shape_mismatch' }), 1);
  assert.equal(valueOf(out, 'fedsim_blob_transfer_bytes_total', { direction: 'upload' }), 1024);
  assert.equal(valueOf(out, 'fedsim_blob_transfer_bytes_total', { direction: 'download' }), 4096);
});

test('queue depths are read on each scrape and merged across sources', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false });
  let waiting = 5;
  let calls = 0;
  metrics.trackQueueDepths(async () => {
    calls += 1;
    return [
      { queue: 'fedsim-train-default', state: 'waiting', count: waiting },
      { queue: 'fedsim-train-default', state: 'active', count: 2 },
    ];
  });
  metrics.trackQueueDepths(async () => [{ queue: 'fedsim-aggregate', state: 'delayed', count: 1 }]);
  let out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_queue_jobs', { queue: 'fedsim-train-default', state: 'waiting' }), 5);
  assert.equal(valueOf(out, 'fedsim_queue_jobs', { queue: 'fedsim-aggregate', state: 'delayed' }), 1);
  waiting = 0;
  out = await scrape(metrics.registry);
  assert.equal(valueOf(out, 'fedsim_queue_jobs', { queue: 'fedsim-train-default', state: 'waiting' }), 0);
  assert.equal(calls, 2);
});

test('a failing or slow queue-depth source empties queue_jobs and counts an error, never fails the scrape', async () => {
  const metrics = createFedsimMetrics({ role: 'coordinator', defaultMetrics: false, queueDepthTimeoutMs: 50 });
  let mode: 'ok' | 'throw' | 'hang' = 'ok';
  metrics.trackQueueDepths(async () => {
    if (mode === 'throw') throw new Error('redis://user:hunter2@redis:6379 unreachable');
    if (mode === 'hang') return new Promise(() => undefined);
    return [{ queue: 'fedsim-aggregate', state: 'waiting', count: 3 }];
  });
  assert.equal(find(await scrape(metrics.registry), 'fedsim_queue_jobs').length, 1);
  mode = 'throw';
  let text = await metrics.registry.metrics();
  assert.equal(find(parseExposition(text), 'fedsim_queue_jobs').length, 0);
  assert.doesNotMatch(text, /hunter2/);
  mode = 'hang';
  text = await metrics.registry.metrics();
  assert.equal(valueOf(parseExposition(text), 'fedsim_queue_depth_errors_total'), 2);
});

test('label values are sanitised: no credentials, no long payloads', async () => {
  assert.equal(safeLabelValue('fmnist-dir0.1'), 'fmnist-dir0.1');
  assert.equal(safeLabelValue(''), 'unknown');
  assert.equal(safeLabelValue('x'.repeat(500)).length, 64);
  assert.doesNotMatch(safeLabelValue('s3://AKIA:secret@bucket/key'), /[/@]/);

  const saved = { ...process.env };
  process.env.AWS_SECRET_ACCESS_KEY = 'very-secret-key-material';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLEKEYID';
  try {
    const metrics = createFedsimMetrics({ role: 'worker' });
    metrics.recordEvaluation(metrics.experimentLabels('exp"with\nnewline', 'fedavg'), 'global', { accuracy: 0.5, loss: 1 });
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /very-secret-key-material|AKIAEXAMPLEKEYID/);
    assert.ok(parseExposition(text).samples.length > 0, 'output still parses');
  } finally {
    process.env = saved;
  }
});

test('registries are independent: two processes-worth of metrics in one test process', async () => {
  const a = createFedsimMetrics({ role: 'coordinator', registry: new Registry() });
  const b = createFedsimMetrics({ role: 'worker', registry: new Registry() });
  a.roundsCommitted.inc(a.experimentLabels('e', 'fedavg'));
  assert.equal(valueOf(await scrape(b.registry), 'fedsim_rounds_committed_total', { experiment: 'e' }), undefined);
  assert.equal(valueOf(await scrape(a.registry), 'fedsim_rounds_committed_total', { experiment: 'e' }), 1);
});
