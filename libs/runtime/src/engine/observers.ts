import type { RunObserver } from './coordinator.js';

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
