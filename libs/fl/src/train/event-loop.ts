import { setImmediate as nextMacrotask } from 'node:timers/promises';

const SLICE_MS = 50;

/**
 * Lets a long synchronous tensor loop give the event loop a turn every ~50 ms, so a process that
 * trains in-line still answers health checks and renews job locks. Call `maybeYield` only
 * between steps, never inside a tidy/gradient scope: tfjs scopes are global, and another
 * caller's steps may run during the pause.
 */
export class EventLoopYielder {
  private last = performance.now();

  async maybeYield(): Promise<void> {
    if (performance.now() - this.last < SLICE_MS) return;
    await nextMacrotask();
    this.last = performance.now();
  }
}
