import { countByCode } from '../jobs/failures.js';
import { droppedByReason } from '@fedsim/fl/system';
import type { RoundRow } from './results.js';

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
  'failure_codes',
  'virtual_seconds',
  'virtual_clock_seconds',
  'dropped_clients',
  // FedBuff only: over the flush's arrivals, in model versions
  'staleness_mean',
  'staleness_max',
  ...EVAL_NAMES.flatMap((n) => [`${n}_pooled_acc`, `${n}_mean_acc`, `${n}_std_acc`, `${n}_min_acc`, `${n}_max_acc`, `${n}_pooled_loss`]),
  // robust / DP aggregation only (empty otherwise)
  'clipped_updates',
  'dp_noise_std',
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
    failureCodes(row.failures),
    row.virtual ? num(row.virtual.endSeconds - row.virtual.startSeconds, 3) : '',
    row.virtual ? num(row.virtual.endSeconds, 3) : '',
    row.virtual ? droppedReasons(row.virtual.dropped) : '',
    ...stalenessCells(row.virtual?.arrivals, num),
    ...EVAL_NAMES.flatMap((n) => {
      const s = row.evaluation?.[n];
      return [num(s?.pooledAccuracy), num(s?.mean), num(s?.std), num(s?.min), num(s?.max), num(s?.pooledLoss)];
    }),
    num(numberOf(row.aggregation?.['clippedUpdates']), 0),
    num(numberOf(row.aggregation?.['dpNoiseStd']), 9),
  ];
  return cells.join(',');
}

const numberOf = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

/** `code:count` pairs joined by ';' (e.g. `non_finite:1;deadline:2`), empty when none failed. */
function failureCodes(failures: RoundRow['failures']): string {
  return Object.entries(countByCode(failures))
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code}:${n}`)
    .join(';');
}

/** `reason:count` pairs of the clients a round dropped (e.g. `deadline:2;overcommit:1`), empty when none. */
function droppedReasons(dropped: NonNullable<RoundRow['virtual']>['dropped']): string {
  return Object.entries(droppedByReason(dropped))
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, n]) => `${reason}:${n}`)
    .join(';');
}

/** Mean and max staleness of a FedBuff flush's arrivals; empty cells for other runs. */
function stalenessCells(arrivals: NonNullable<RoundRow['virtual']>['arrivals'], num: (x: number, digits?: number) => string): string[] {
  if (!arrivals || arrivals.length === 0) return ['', ''];
  const s = arrivals.map((a) => a.staleness);
  return [num(s.reduce((a, b) => a + b, 0) / s.length, 3), String(Math.max(...s))];
}
