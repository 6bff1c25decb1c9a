import { z } from 'zod';
import { Rng } from '../util/rng.js';
import type { Distribution } from './config.js';

/** What a client's device can do: compute throughput and network bandwidth. */
export interface DeviceProfile {
  readonly computeSamplesPerSecond: number;
  readonly downBytesPerSecond: number;
  readonly upBytesPerSecond: number;
}

/** A half-open window [from, to) of virtual seconds in which a client is online. */
export type OnlineWindow = readonly [from: number, to: number];

const positive = z.number().positive().finite();

/** A device trace: profiles (client i uses entry i mod length) and, optionally, online windows. */
export const deviceTraceSchema = z
  .object({
    devices: z
      .array(
        z
          .object({
            computeSamplesPerSecond: positive,
            downBytesPerSecond: positive,
            upBytesPerSecond: positive,
            /** online windows in virtual seconds, sorted and disjoint; absent: always online */
            online: z
              .array(z.tuple([z.number().min(0), z.number().min(0)]))
              .refine((ws) => ws.every(([a, b], i) => a < b && (i === 0 || ws[i - 1]![1] <= a)), {
                message: 'windows must be [from, to) with from < to, sorted and disjoint',
              })
              .optional(),
          })
          .strict(),
      )
      .min(1),
    /** the online windows repeat with this period in virtual seconds (e.g. 86400 for a day) */
    periodSeconds: positive.optional(),
  })
  .strict()
  .refine((t) => t.periodSeconds === undefined || t.devices.every((d) => (d.online ?? []).every(([, to]) => to <= t.periodSeconds!)), {
    message: 'online windows must end within periodSeconds',
    path: ['periodSeconds'],
  });
export type DeviceTrace = z.infer<typeof deviceTraceSchema>;

function draw(dist: Distribution, rng: Rng): number {
  switch (dist.kind) {
    case 'fixed':
      return dist.value;
    case 'uniform':
      return rng.uniform(dist.min, dist.max);
    case 'lognormal':
      return dist.median * Math.exp(dist.sigma * rng.normal());
  }
}

/** Client c's profile from its own stream (seed, 'device', c): adding clients never changes others'. */
export function sampledProfile(
  dists: { computeSamplesPerSecond: Distribution; downBytesPerSecond: Distribution; upBytesPerSecond: Distribution },
  seed: number,
  clientId: number,
): DeviceProfile {
  const rng = Rng.derive(seed, 'device', clientId);
  return {
    computeSamplesPerSecond: draw(dists.computeSamplesPerSecond, rng),
    downBytesPerSecond: draw(dists.downBytesPerSecond, rng),
    upBytesPerSecond: draw(dists.upBytesPerSecond, rng),
  };
}

export function traceProfile(trace: DeviceTrace, clientId: number): DeviceProfile {
  const d = trace.devices[clientId % trace.devices.length]!;
  return { computeSamplesPerSecond: d.computeSamplesPerSecond, downBytesPerSecond: d.downBytesPerSecond, upBytesPerSecond: d.upBytesPerSecond };
}
