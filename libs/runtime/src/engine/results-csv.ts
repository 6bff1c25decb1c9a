import { countByCode } from '../jobs/failures.js';
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
    failureCodes(row.failures),
    ...EVAL_NAMES.flatMap((n) => {
      const s = row.evaluation?.[n];
      return [num(s?.pooledAccuracy), num(s?.mean), num(s?.std), num(s?.min), num(s?.max), num(s?.pooledLoss)];
    }),
  ];
  return cells.join(',');
}

/** `code:count` pairs joined by ';' (e.g. `non_finite:1;deadline:2`), empty when none failed. */
function failureCodes(failures: RoundRow['failures']): string {
  return Object.entries(countByCode(failures))
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code}:${n}`)
    .join(';');
}
