import type { ClientFailure, EvalStats } from '../jobs/catalog.js';

/** One line of a run's results (results.jsonl / results.csv). */
export interface RoundRow {
  readonly round: number;
  readonly clients: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failures: readonly ClientFailure[];
  readonly trainLoss: number | null;
  readonly wallSeconds: number;
  readonly trainSeconds: number;
  readonly aggregateSeconds: number;
  readonly uploadBytes: number;
  readonly downloadBytes: number;
  readonly backends: readonly string[];
  /** per client: what the server prepared for it for this round (e.g. FedOBP's patch sizes) */
  readonly prepareReports: Record<string, unknown>;
  /** present on evaluation rounds: per named evaluation (personalized, global, before, after) */
  readonly evaluation?: Record<string, EvalStats>;
  readonly evaluationFailures?: number;
}

export interface RunSummary {
  readonly runId: string;
  readonly experiment: string;
  readonly algorithm: string;
  readonly rounds: number;
  readonly finalModelKey: string;
  /** sha256 of the final global model's bytes: equal across transports and worker counts */
  readonly finalModelSha256: string;
  /** best pooled accuracy of the personalised models over the evaluation rounds */
  readonly bestPersonalized: { round: number; accuracy: number } | null;
  readonly final: { round: number; results: Record<string, EvalStats> } | null;
}

const EVAL_NAMES = ['personalized', 'global', 'before', 'after'] as const;

export const CSV_HEADER = [
  'round',
  'clients',
  'succeeded',
  'failed',
  'train_loss',
  'wall_seconds',
  'train_seconds',
  'aggregate_seconds',
  'upload_bytes',
  'download_bytes',
  ...EVAL_NAMES.flatMap((n) => [`${n}_pooled_acc`, `${n}_mean_acc`, `${n}_std_acc`, `${n}_min_acc`, `${n}_max_acc`, `${n}_pooled_loss`]),
];

export function csvLine(row: RoundRow): string {
  const num = (x: number | null | undefined, digits = 6) => (x === null || x === undefined ? '' : Number(x.toFixed(digits)).toString());
  const cells = [
    row.round,
    row.clients,
    row.succeeded,
    row.failed,
    num(row.trainLoss),
    num(row.wallSeconds, 3),
    num(row.trainSeconds, 3),
    num(row.aggregateSeconds, 3),
    row.uploadBytes,
    row.downloadBytes,
    ...EVAL_NAMES.flatMap((n) => {
      const s = row.evaluation?.[n];
      return [num(s?.pooledAccuracy), num(s?.mean), num(s?.std), num(s?.min), num(s?.max), num(s?.pooledLoss)];
    }),
  ];
  return cells.join(',');
}
