import type { RoundRow } from '@fedsim/runtime';

type Dropped = NonNullable<RoundRow['virtual']>['dropped'];

/** A result row of round r that ran in virtual time [start, end) and dropped the given clients. */
export const virtualRow = (round: number, startSeconds: number, endSeconds: number, dropped: Dropped, evaluation?: RoundRow['evaluation']): RoundRow => ({
  round, clients: 2, sampled: [0, 1], succeeded: 2, failed: 0, failures: [], trainLoss: 0.5, wallSeconds: 1, trainSeconds: 1,
  aggregateSeconds: 0, uploadBytes: 1, downloadBytes: 1, backends: ['wasm'], prepareReports: {},
  ...(evaluation ? { evaluation } : {}),
  virtual: { startSeconds, endSeconds, sampled: [0, 1, 2, 3], dropped },
});

/** Four rounds closing at 12.5, 20, 31 and 40 virtual seconds; rounds 0 and 2 drop clients. */
export const virtualRows = (evaluation?: (round: number) => RoundRow['evaluation']): RoundRow[] => [
  virtualRow(0, 0, 12.5, [{ clientId: 2, reason: 'deadline' }, { clientId: 3, reason: 'overcommit' }], evaluation?.(0)),
  virtualRow(1, 12.5, 20, [], evaluation?.(1)),
  virtualRow(2, 20, 31, [{ clientId: 1, reason: 'offline' }, { clientId: 3, reason: 'offline' }], evaluation?.(2)),
  virtualRow(3, 31, 40, [], evaluation?.(3)),
];
