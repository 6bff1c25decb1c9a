import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendName } from '@fedsim/fl/compute';
import type { JobKind as CatalogJobKind } from '../jobs/catalog.js';
import type { JobFailureCode, RejectionCode } from '../jobs/failures.js';
import { METRIC_CATALOG, type MetricKey, type MetricSpec } from './catalog.js';

export type FedsimRole = 'coordinator' | 'worker';
export type JobKind = CatalogJobKind;
/** Why a client job produced no update (jobs/failures.ts: the codes of results.csv and summary.json). */
export type ClientFailureReason = JobFailureCode;
/** Why aggregation refused an update that did arrive (jobs/failures.ts). */
export type UpdateRejectReason = RejectionCode;
// Records (not arrays) so the compiler checks every reason is listed; they seed the counters at 0.
const CLIENT_FAILURE_REASONS: Record<ClientFailureReason, true> = { error: true, bad_input: true, deadline: true, stalled: true, missing: true };
const UPDATE_REJECT_REASONS: Record<UpdateRejectReason, true> = { non_finite: true, shape_mismatch: true, corrupt: true, malformed: true };
export type EvalView = 'pooled' | 'client_mean' | 'global';
export type JobOutcome = 'completed' | 'failed';
export type BlobDirection = 'upload' | 'download';
/** One queue_jobs sample; the state is kept open (waiting, active, delayed, failed, ...). */
export interface QueueDepthSample {
  readonly queue: string;
  readonly state: string;
  readonly count: number;
}
export type QueueDepthReader = () => Promise<readonly QueueDepthSample[]>;

export interface ExperimentLabels {
  readonly experiment: string;
  readonly algorithm: string;
}

export interface JobLabels extends ExperimentLabels {
  readonly job_kind: JobKind;
  readonly backend: BackendName;
  readonly pool: string;
}

type LabelsOf<S> = S extends { readonly labelNames: readonly (infer L)[] } ? (L extends string ? L : never) : never;
type HandleOf<S> = S extends { readonly type: 'counter' }
  ? Counter<LabelsOf<S>>
  : S extends { readonly type: 'gauge' }
    ? Gauge<LabelsOf<S>>
    : Histogram<LabelsOf<S>>;
export type FedsimMetricHandles = { readonly [K in MetricKey]: HandleOf<(typeof METRIC_CATALOG)[K]> };

export interface RoundTimer {
  /** Marks the round committed; returns its duration in seconds. */
  commit(): number;
  /** The round ended without a commit (run stopped, flow failed): clears the in-progress flag. */
  abandon(): void;
}

export interface JobTimer {
  /** Records the job's duration and outcome; returns the duration in seconds. Idempotent. */
  done(outcome: JobOutcome): number;
}

export interface FedsimMetrics extends FedsimMetricHandles {
  readonly registry: Registry;
  readonly namespace: string;
  readonly role: FedsimRole;
  /** Full names of the fedsim metrics (not the default process/nodejs ones). */
  readonly names: readonly string[];
  /** Sanitised experiment/algorithm label values; use them for every experiment-scoped handle. */
  experimentLabels(experiment: string, algorithm: string): ExperimentLabels;
  /**
   * Creates the experiment's counter series at 0 (commits, updates, failures and rejections by
   * reason). Prometheus' rate() and increase() only see a counter move between two scrapes, so
   * a series born at 1 hides its first event: the first rejected update would never alert.
   */
  startExperiment(labels: ExperimentLabels): void;
  /** Round lifecycle: sets current round, clients, deadline and in-progress; commit observes the duration. */
  startRound(labels: ExperimentLabels, round: { round: number; clients: number; deadlineSeconds: number }): RoundTimer;
  /** Job lifecycle on a worker: busy slots, retries (attempt > 1), duration and outcome. */
  startJob(labels: JobLabels, attempt: number): JobTimer;
  recordEvaluation(labels: ExperimentLabels, view: EvalView, result: { accuracy: number; loss: number }): void;
  recordClientFailure(labels: ExperimentLabels, jobKind: JobKind, reason: ClientFailureReason): void;
  recordRejectedUpdate(labels: ExperimentLabels, reason: UpdateRejectReason): void;
  recordBlobTransfer(direction: BlobDirection, bytes: number): void;
  /** Announces the job slots of a pool (call once per pool at worker start-up). */
  setWorkerConcurrency(pool: string, backend: BackendName, slots: number): void;
  /**
   * Adds a queue-depth source read on every scrape (several sources are merged). A source that
   * throws or takes longer than `queueDepthTimeoutMs` leaves queue_jobs empty for that scrape and
   * counts queue_depth_errors_total, so a Redis hiccup never fails the whole scrape.
   */
  trackQueueDepths(source: QueueDepthReader): void;
}

export interface FedsimMetricsOptions {
  registry?: Registry;
  namespace?: string;
  role: FedsimRole;
  /** reported in build_info */
  version?: string;
  /** default 5000 */
  queueDepthTimeoutMs?: number;
  /** default true; tests that build many registries may turn it off */
  defaultMetrics?: boolean;
}

const NAMESPACE_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_LABEL_VALUE_LENGTH = 64;

/**
 * Label values come from configs (experiment names) and adapters (queue names); keep them short
 * and to a safe alphabet so a mistaken value (a URL with credentials, an object key, a payload)
 * can neither leak through /metrics nor explode series cardinality.
 */
export function safeLabelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, MAX_LABEL_VALUE_LENGTH);
  return cleaned === '' ? 'unknown' : cleaned;
}

function register(spec: MetricSpec, namespace: string, registry: Registry): Counter<string> | Gauge<string> | Histogram<string> {
  const config = {
    name: `${namespace}_${spec.name}`,
    help: spec.help,
    labelNames: spec.labelNames,
    registers: [registry],
  };
  switch (spec.type) {
    case 'counter':
      return new Counter(config);
    case 'gauge':
      return new Gauge(config);
    case 'histogram':
      return new Histogram({ ...config, buckets: [...(spec.buckets ?? [])] });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createFedsimMetrics(options: FedsimMetricsOptions): FedsimMetrics {
  const namespace = options.namespace ?? 'fedsim';
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`metrics namespace '${namespace}' is not a valid Prometheus name prefix (letters, digits, '_')`);
  }
  const registry = options.registry ?? new Registry();
  const queueDepthTimeoutMs = options.queueDepthTimeoutMs ?? 5000;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const built: Partial<Record<MetricKey, Counter<string> | Gauge<string> | Histogram<string>>> = {};
  for (const [key, spec] of Object.entries(METRIC_CATALOG) as [MetricKey, MetricSpec][]) {
    built[key] = register(spec, namespace, registry);
  }
  const h = built as FedsimMetricHandles;

  h.buildInfo.set({ role: options.role, version: safeLabelValue(options.version ?? 'unknown') }, 1);
  for (const direction of ['upload', 'download'] as const) h.blobBytes.inc({ direction }, 0);

  const sources: QueueDepthReader[] = [];
  let depths: Promise<QueueDepthSample[] | undefined> | undefined;
  // queue_jobs and queue_depth_errors_total are serialised concurrently within one scrape; both
  // await the same read so the error count is current, not one scrape behind.
  const readDepths = (): Promise<QueueDepthSample[] | undefined> => {
    depths ??= withTimeout(Promise.all(sources.map((source) => source())), queueDepthTimeoutMs)
      .then((all) => all.flat(), () => {
        h.queueDepthErrors.inc();
        return undefined;
      })
      .finally(() => {
        depths = undefined;
      });
    return depths;
  };
  // prom-client awaits an async collect() before serialising, so depths are as fresh as the scrape.
  const queueJobs = h.queueJobs as Gauge<'queue' | 'state'> & { collect?: () => Promise<void> };
  queueJobs.collect = async () => {
    if (sources.length === 0) return;
    const read = await readDepths();
    queueJobs.reset();
    for (const { queue, state, count } of read ?? []) {
      if (Number.isFinite(count)) queueJobs.set({ queue: safeLabelValue(queue), state: safeLabelValue(state) }, count);
    }
  };
  const queueErrors = h.queueDepthErrors as Counter<never> & { collect?: () => Promise<void> };
  queueErrors.collect = async () => {
    if (sources.length > 0) await readDepths();
  };

  const experimentLabels = (experiment: string, algorithm: string): ExperimentLabels => ({
    experiment: safeLabelValue(experiment),
    algorithm: safeLabelValue(algorithm),
  });
  const clean = (labels: ExperimentLabels): ExperimentLabels => experimentLabels(labels.experiment, labels.algorithm);

  return {
    ...h,
    registry,
    namespace,
    role: options.role,
    names: Object.values(METRIC_CATALOG).map((spec) => `${namespace}_${spec.name}`),
    experimentLabels,

    startExperiment(labels) {
      const l = clean(labels);
      h.roundsCommitted.inc(l, 0);
      h.clientUpdates.inc(l, 0);
      for (const jobKind of ['train', 'eval'] as const) {
        for (const reason of Object.keys(CLIENT_FAILURE_REASONS)) h.clientFailures.inc({ ...l, job_kind: jobKind, reason }, 0);
      }
      for (const reason of Object.keys(UPDATE_REJECT_REASONS)) h.updatesRejected.inc({ ...l, reason }, 0);
    },

    startRound(labels, { round, clients, deadlineSeconds }) {
      const l = clean(labels);
      h.currentRound.set(l, round);
      h.clientsPerRound.set(l, clients);
      h.roundDeadline.set(l, deadlineSeconds);
      h.roundStarted.set(l, Date.now() / 1000);
      h.roundInProgress.set(l, 1);
      const endTimer = h.roundDuration.startTimer(l);
      let finished = false;
      return {
        commit() {
          if (finished) return 0;
          finished = true;
          const seconds = endTimer();
          h.roundsCommitted.inc(l);
          h.roundInProgress.set(l, 0);
          return seconds;
        },
        abandon() {
          if (finished) return;
          finished = true;
          h.roundInProgress.set(l, 0);
        },
      };
    },

    startJob(labels, attempt) {
      const l = { ...clean(labels), job_kind: labels.job_kind, backend: labels.backend, pool: safeLabelValue(labels.pool) };
      const slot = { pool: l.pool, backend: l.backend };
      // at 0 from a (kind, pool)'s first job on, so the first retry and failure show in rate()
      h.jobRetries.inc({ experiment: l.experiment, algorithm: l.algorithm, job_kind: l.job_kind, pool: l.pool }, attempt > 1 ? 1 : 0);
      for (const outcome of ['completed', 'failed'] as const) h.jobs.inc({ ...l, outcome }, 0);
      h.workerBusySlots.inc(slot);
      const started = process.hrtime.bigint();
      let seconds: number | undefined;
      return {
        done(outcome) {
          if (seconds !== undefined) return seconds;
          seconds = Number(process.hrtime.bigint() - started) / 1e9;
          h.jobDuration.observe(l, seconds);
          h.jobs.inc({ ...l, outcome });
          h.workerBusySlots.dec(slot);
          return seconds;
        },
      };
    },

    recordEvaluation(labels, view, { accuracy, loss }) {
      const l = { ...clean(labels), view };
      if (Number.isFinite(accuracy)) h.evalAccuracy.set(l, accuracy);
      if (Number.isFinite(loss)) h.evalLoss.set(l, loss);
    },

    recordClientFailure(labels, jobKind, reason) {
      h.clientFailures.inc({ ...clean(labels), job_kind: jobKind, reason });
    },

    recordRejectedUpdate(labels, reason) {
      h.updatesRejected.inc({ ...clean(labels), reason });
    },

    recordBlobTransfer(direction, bytes) {
      if (bytes > 0 && Number.isFinite(bytes)) h.blobBytes.inc({ direction }, bytes);
    },

    setWorkerConcurrency(pool, backend, slots) {
      const slot = { pool: safeLabelValue(pool), backend };
      h.workerConcurrency.set(slot, slots);
      // a pool that has never run a job still reports 0 busy slots, so utilisation is defined
      h.workerBusySlots.inc(slot, 0);
    },

    trackQueueDepths(source) {
      sources.push(source);
    },
  };
}
