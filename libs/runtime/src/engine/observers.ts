import type { RoundRow } from './results.js';

/** What the coordinator reports as it goes; the CLI draws progress and writes results from it. */
export interface RunObserver {
  /**
   * `committed` holds a row for every round already committed when this process starts (rebuilt
   * from the store, wall time 0), including rounds committed while no coordinator ran.
   */
  onStart?(info: {
    runId: string;
    resumedFrom: number | null;
    committed: readonly RoundRow[];
    numClients: number;
    perRound: number;
    rounds: number;
  }): void | Promise<void>;
  onRoundStart?(round: number, clients: readonly number[]): void;
  onRound?(row: RoundRow): void | Promise<void>;
  onEvalStart?(round: number, clients: number): void;
  log?(message: string): void;
}

/** Runs several observers as one (progress output, metrics, results files). */
export function combineObservers(...observers: RunObserver[]): RunObserver {
  return {
    async onStart(info) {
      for (const o of observers) await o.onStart?.(info);
    },
    onRoundStart(r, c) {
      for (const o of observers) o.onRoundStart?.(r, c);
    },
    async onRound(row) {
      for (const o of observers) await o.onRound?.(row);
    },
    onEvalStart(r, n) {
      for (const o of observers) o.onEvalStart?.(r, n);
    },
    log(m) {
      for (const o of observers) o.log?.(m);
    },
  };
}
