import { Rng } from '../util/rng.js';
import type { AvailabilityConfig } from './config.js';
import type { DeviceTrace, OnlineWindow } from './profiles.js';

/** Whether a client can be selected, and until when it stays online once it is. */
export interface Availability {
  /** online at virtual time t (at the start of `round`, for per-round draws) */
  isOnline(clientId: number, round: number, t: number): boolean;
  /** the end of the online spell that contains t (Infinity when it never ends) */
  onlineUntil(clientId: number, round: number, t: number): number;
}

export const alwaysOnline: Availability = { isOnline: () => true, onlineUntil: () => Infinity };

/** Online for a whole round with probability p, drawn from (seed, 'online', round, client). */
export function probabilityAvailability(seed: number, online: number): Availability {
  const on = (clientId: number, round: number) => Rng.derive(seed, 'online', round, clientId).float() < online;
  return { isOnline: (c, r) => on(c, r), onlineUntil: (c, r) => (on(c, r) ? Infinity : -Infinity) };
}

/** Online windows of a trace, repeating with the trace's period when it has one. */
export function traceAvailability(trace: DeviceTrace): Availability {
  const spell = (clientId: number, t: number): number | null => {
    const windows: readonly OnlineWindow[] | undefined = trace.devices[clientId % trace.devices.length]!.online;
    if (windows === undefined) return Infinity;
    const period = trace.periodSeconds;
    const offset = period === undefined ? 0 : Math.floor(t / period) * period;
    const local = t - offset;
    for (const [from, to] of windows) {
      if (local >= from && local < to) {
        if (period !== undefined && from === 0 && to === period) return Infinity;
        // A window reaching the period's end continues into the next period's window at 0.
        const wraps = period !== undefined && to === period && windows[0]![0] === 0;
        return wraps ? Math.max(offset + to, spell(clientId, offset + period)!) : offset + to;
      }
    }
    return null;
  };
  return {
    isOnline: (c, _r, t) => spell(c, t) !== null,
    onlineUntil: (c, _r, t) => spell(c, t) ?? -Infinity,
  };
}

export function availabilityFor(cfg: AvailabilityConfig, seed: number, trace: DeviceTrace | null): Availability {
  switch (cfg.kind) {
    case 'always':
      return alwaysOnline;
    case 'probability':
      return probabilityAvailability(seed, cfg.online);
    case 'trace':
      if (!trace) throw new Error("availability 'trace' needs a device trace");
      return traceAvailability(trace);
  }
}
