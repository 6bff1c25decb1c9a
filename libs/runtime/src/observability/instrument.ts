import { BACKEND_PREFERENCE, type BackendName } from '@fedsim/fl/compute';
import type { ExperimentConfig } from '../config/experiment.js';
import type { RunObserver } from '../engine/observers.js';
import type { RoundRow } from '../engine/results.js';
import type { Jobs, JobShapes, JobKind } from '../jobs/catalog.js';
import { isRejection } from '../jobs/failures.js';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../ports/transport.js';
import type { ExperimentLabels, FedsimMetrics } from './metrics.js';

const isBackend = (b: unknown): b is BackendName => (BACKEND_PREFERENCE as readonly unknown[]).includes(b);

function labelsOf(payload: unknown): ExperimentLabels {
  const l = (payload as { labels?: Partial<ExperimentLabels> } | null)?.labels;
  return { experiment: l?.experiment ?? 'unknown', algorithm: l?.algorithm ?? 'unknown' };
}

/**
 * Job metrics for a worker (or the embedded engine): duration, outcome, retries and busy slots
 * per job kind, backend and pool, and the blob bytes each train job reports. Wraps the handlers
 * on the main thread, so it measures what the queue sees, queueing in the thread pool included.
 */
export function instrumentHandlers<J extends JobShapes = Jobs>(
  handlers: JobHandlers<J>,
  metrics: FedsimMetrics,
  opts: { pool: string; backend: BackendName },
): JobHandlers<J> {
  // The threads pick the backend; the first reply tells which one they picked.
  let backend = opts.backend;
  const learnBackend = (value: unknown) => {
    const b = (value as { backend?: unknown } | null)?.backend;
    if (isBackend(b)) backend = b;
  };
  const timed = async <T>(kind: JobKind, payload: unknown, attempt: number, run: () => Promise<T>) => {
    const timer = metrics.startJob({ ...labelsOf(payload), job_kind: kind, backend, pool: opts.pool }, attempt);
    try {
      const value = await run();
      timer.done('completed');
      learnBackend(value);
      return value;
    } catch (err) {
      timer.done('failed');
      throw err;
    }
  };
  return {
    async runChild<K extends ChildKind>(kind: K, payload: J[K]['payload'], ctx: ChildContext) {
      const value = await timed(kind, payload, ctx.attempt, () => handlers.runChild(kind, payload, ctx));
      const bytes = value as { uploadBytes?: unknown; downloadBytes?: unknown } | null;
      if (typeof bytes?.uploadBytes === 'number') metrics.recordBlobTransfer('upload', bytes.uploadBytes);
      if (typeof bytes?.downloadBytes === 'number') metrics.recordBlobTransfer('download', bytes.downloadBytes);
      return value;
    },
    runParent<K extends ParentKind>(kind: K, payload: J[K]['payload'], outcomes: readonly ChildOutcome[]) {
      return timed(kind, payload, 1, () => handlers.runParent(kind, payload, outcomes));
    },
  };
}

/** Round-level metrics from the coordinator's view of a run. */
export function metricsObserver(metrics: FedsimMetrics, config: ExperimentConfig): RunObserver {
  const labels = metrics.experimentLabels(config.name, config.algorithm.name);
  let round: ReturnType<FedsimMetrics['startRound']> | null = null;
  return {
    onStart(info) {
      metrics.startExperiment(labels);
      metrics.roundsPlanned.set(labels, info.rounds);
      metrics.clientsPerRound.set(labels, info.perRound);
    },
    onRoundStart(r, clients) {
      round = metrics.startRound(labels, { round: r, clients: clients.length, deadlineSeconds: config.failures.roundDeadlineSeconds });
    },
    onRound(row: RoundRow) {
      round?.commit();
      round = null;
      metrics.clientUpdates.inc(labels, row.succeeded);
      if (row.trainLoss !== null) metrics.trainLoss.set(labels, row.trainLoss);
      // The failure's own code is the label value: the same word as in results.csv and summary.json.
      for (const f of row.failures) {
        if (isRejection(f.code)) metrics.recordRejectedUpdate(labels, f.code);
        else metrics.recordClientFailure(labels, f.kind, f.code);
      }
      if (row.virtual) {
        metrics.virtualClock.set(labels, row.virtual.endSeconds);
        for (const d of row.virtual.dropped) metrics.clientsDropped.inc({ ...labels, reason: d.reason });
        for (const a of row.virtual.arrivals ?? []) metrics.updateStaleness.observe(labels, a.staleness);
      }
      const personalized = row.evaluation?.['personalized'];
      if (personalized) {
        metrics.recordEvaluation(labels, 'pooled', { accuracy: personalized.pooledAccuracy, loss: personalized.pooledLoss });
        metrics.recordEvaluation(labels, 'client_mean', { accuracy: personalized.mean, loss: Number.NaN });
      }
      const global = row.evaluation?.['global'];
      if (global) metrics.recordEvaluation(labels, 'global', { accuracy: global.pooledAccuracy, loss: global.pooledLoss });
    },
  };
}
