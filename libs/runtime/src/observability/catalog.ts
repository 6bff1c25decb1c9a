/**
 * The fedsim metric catalog: every metric's name (without namespace), type, help text and label
 * names. It is the single source for the registry (metrics.ts), the documentation
 * (docs/metrics.md) and the tests that check dashboards and alert rules only query metrics the
 * code registers.
 *
 * Label rule: labels identify an experiment, an algorithm, a job kind, a compute backend, a
 * worker pool, a queue or a small closed set of reasons/outcomes. Client ids and round numbers are
 * never labels (they would create one series per client or per round); the current round is a
 * gauge value instead.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

const EXPERIMENT = ['experiment', 'algorithm'] as const;
const JOB = ['experiment', 'algorithm', 'job_kind', 'backend', 'pool'] as const;

/** Seconds; rounds span from a few seconds (smoke runs) to an hour (large cohorts on CPU). */
const ROUND_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600] as const;
/** Model versions; FedBuff's maxStaleness is a handful of versions in practice. */
const STALENESS_BUCKETS = [0, 1, 2, 3, 4, 6, 8, 12, 16, 32] as const;
/** Seconds; an eval job on a small shard takes tens of ms, an aggregate over thousands of updates minutes. */
const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

export const METRIC_CATALOG = {
  buildInfo: {
    name: 'build_info',
    type: 'gauge',
    help: 'Always 1; labels say which fedsim role and version this process runs.',
    labelNames: ['role', 'version'],
  },
  roundsCommitted: {
    name: 'rounds_committed_total',
    type: 'counter',
    help: 'Rounds whose aggregate was committed (new global model written).',
    labelNames: EXPERIMENT,
  },
  roundDuration: {
    name: 'round_duration_seconds',
    type: 'histogram',
    help: 'Wall time from queuing a round to its commit.',
    labelNames: EXPERIMENT,
    buckets: ROUND_BUCKETS,
  },
  currentRound: {
    name: 'current_round',
    type: 'gauge',
    help: 'The round the experiment is in (0-based), as a value, never a label.',
    labelNames: EXPERIMENT,
  },
  roundsPlanned: {
    name: 'rounds_planned',
    type: 'gauge',
    help: 'Rounds the experiment is configured to run.',
    labelNames: EXPERIMENT,
  },
  clientsPerRound: {
    name: 'clients_per_round',
    type: 'gauge',
    help: 'Clients sampled for the current round.',
    labelNames: EXPERIMENT,
  },
  roundInProgress: {
    name: 'round_in_progress',
    type: 'gauge',
    help: '1 while a round is queued and not yet committed or abandoned, else 0.',
    labelNames: EXPERIMENT,
  },
  roundStarted: {
    name: 'round_started_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time the current round was queued.',
    labelNames: EXPERIMENT,
  },
  roundDeadline: {
    name: 'round_deadline_seconds',
    type: 'gauge',
    help: 'Deadline of the current round; children unfinished by then count as failed.',
    labelNames: EXPERIMENT,
  },
  clientUpdates: {
    name: 'client_updates_total',
    type: 'counter',
    help: 'Client updates accepted into an aggregate.',
    labelNames: EXPERIMENT,
  },
  clientFailures: {
    name: 'client_failures_total',
    type: 'counter',
    help: 'Client jobs that produced no result, by failure code (error, bad_input, deadline, stalled, missing, storage).',
    labelNames: [...EXPERIMENT, 'job_kind', 'reason'],
  },
  updatesRejected: {
    name: 'updates_rejected_total',
    type: 'counter',
    help: 'Client updates refused by aggregation, by failure code (non_finite, shape_mismatch, corrupt, malformed, forged).',
    labelNames: [...EXPERIMENT, 'reason'],
  },
  evalAccuracy: {
    name: 'eval_accuracy_ratio',
    type: 'gauge',
    help: 'Latest evaluation accuracy in [0, 1]; view=pooled|client_mean|global.',
    labelNames: [...EXPERIMENT, 'view'],
  },
  evalLoss: {
    name: 'eval_loss',
    type: 'gauge',
    help: 'Latest evaluation loss; view=pooled|client_mean|global.',
    labelNames: [...EXPERIMENT, 'view'],
  },
  trainLoss: {
    name: 'train_loss',
    type: 'gauge',
    help: 'Mean local training loss of the last committed round.',
    labelNames: EXPERIMENT,
  },
  virtualClock: {
    name: 'virtual_clock_seconds',
    type: 'gauge',
    help: 'Virtual time at the end of the last committed round (runs with device profiles).',
    labelNames: EXPERIMENT,
  },
  clientsDropped: {
    name: 'clients_dropped_total',
    type: 'counter',
    help: 'Sampled clients not trained in virtual time, by reason (deadline, offline, overcommit; FedBuff: stale, offline).',
    labelNames: [...EXPERIMENT, 'reason'],
  },
  updateStaleness: {
    name: 'update_staleness',
    type: 'histogram',
    help: 'FedBuff: model versions committed between a client\'s download and its update\'s arrival, per arrival a flush takes.',
    labelNames: EXPERIMENT,
    buckets: STALENESS_BUCKETS,
  },
  jobDuration: {
    name: 'job_duration_seconds',
    type: 'histogram',
    help: 'Time a worker spent running one job, by job kind, compute backend and pool.',
    labelNames: JOB,
    buckets: JOB_BUCKETS,
  },
  jobs: {
    name: 'jobs_total',
    type: 'counter',
    help: 'Jobs a worker finished, by outcome (completed|failed).',
    labelNames: [...JOB, 'outcome'],
  },
  jobRetries: {
    name: 'job_retries_total',
    type: 'counter',
    help: 'Job attempts after the first (a retry of a failed or stalled job).',
    labelNames: ['experiment', 'algorithm', 'job_kind', 'pool'],
  },
  workerConcurrency: {
    name: 'worker_concurrency',
    type: 'gauge',
    help: 'Job slots this process offers per pool.',
    labelNames: ['pool', 'backend'],
  },
  workerBusySlots: {
    name: 'worker_busy_slots',
    type: 'gauge',
    help: 'Job slots currently running a job, per pool.',
    labelNames: ['pool', 'backend'],
  },
  queueJobs: {
    name: 'queue_jobs',
    type: 'gauge',
    help: 'Jobs per queue and state (waiting, active, delayed, failed, ...), read on scrape.',
    labelNames: ['queue', 'state'],
  },
  queueDepthErrors: {
    name: 'queue_depth_errors_total',
    type: 'counter',
    help: 'Scrapes where reading queue depths failed or timed out (queue_jobs is then empty).',
    labelNames: [],
  },
  blobBytes: {
    name: 'blob_transfer_bytes_total',
    type: 'counter',
    help: 'Bytes moved to (upload) or from (download) the blob store.',
    labelNames: ['direction'],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRIC_CATALOG;

/** Every label name a fedsim metric may carry; anything else (client, round, ...) is a bug. */
export const ALLOWED_LABEL_NAMES: readonly string[] = [
  'role', 'version', 'experiment', 'algorithm', 'job_kind', 'backend', 'pool', 'reason', 'view', 'outcome',
  'queue', 'state', 'direction',
];

/** Full metric names (`<namespace>_<name>`) in catalog order. */
export function fedsimMetricNames(namespace = 'fedsim'): string[] {
  return Object.values(METRIC_CATALOG).map((spec) => `${namespace}_${spec.name}`);
}

export const FEDSIM_METRIC_NAMES: readonly string[] = fedsimMetricNames();
