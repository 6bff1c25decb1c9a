import { z } from 'zod';

const positive = z.number().positive();

/** A seeded distribution of one device property; every client draws once from it. */
export const distributionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), value: positive }).strict(),
  z
    .object({ kind: z.literal('uniform'), min: positive, max: positive })
    .strict()
    .refine((d) => d.min <= d.max, { message: 'min must be ≤ max', path: ['max'] }),
  /** heavy-tailed, as measured device speeds are: exp(ln(median) + sigma · N(0,1)) */
  z.object({ kind: z.literal('lognormal'), median: positive, sigma: z.number().min(0) }).strict(),
]);
export type Distribution = z.infer<typeof distributionSchema>;

export const devicesConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sampled'),
      computeSamplesPerSecond: distributionSchema,
      downBytesPerSecond: distributionSchema,
      upBytesPerSecond: distributionSchema,
    })
    .strict(),
  /** a JSON trace of device profiles (and optional online windows), read by the runtime */
  z.object({ kind: z.literal('trace'), file: z.string().min(1) }).strict(),
]);
export type DevicesConfig = z.infer<typeof devicesConfigSchema>;

export const availabilityConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('always') }).strict(),
  /** each client is online for a round with this probability, drawn from (seed, round, client) */
  z.object({ kind: z.literal('probability'), online: z.number().gt(0).max(1) }).strict(),
  /** the online windows of the device trace (`devices.kind: trace`) */
  z.object({ kind: z.literal('trace') }).strict(),
]);
export type AvailabilityConfig = z.infer<typeof availabilityConfigSchema>;

export const syncModeSchema = z
  .object({
    kind: z.literal('sync'),
    /** a round closes at this many virtual seconds after it starts; unset: no deadline */
    deadlineSeconds: positive.optional(),
    /** sample ⌈K · overcommit⌉ available clients and keep the first K to finish */
    overcommit: z.number().min(1).default(1),
  })
  .strict();

export const stalenessWeightSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  /** 1 / (1 + s)^exponent; exponent 0.5 is FedBuff's 1/√(1+s) */
  z.object({ kind: z.literal('polynomial'), exponent: z.number().min(0).default(0.5) }).strict(),
]);
export type StalenessWeight = z.infer<typeof stalenessWeightSchema>;

export const fedBuffModeSchema = z
  .object({
    kind: z.literal('fedbuff'),
    /** clients training at once (C) */
    concurrency: z.number().int().positive(),
    /** arrivals per aggregation (B) */
    bufferSize: z.number().int().positive(),
    /** updates more than this many model versions old are dropped */
    maxStaleness: z.number().int().min(0),
    staleness: stalenessWeightSchema.default({ kind: 'polynomial', exponent: 0.5 }),
    /** a client whose update waits in the buffer is dispatched again only after the flush (never twice in one step) */
    oncePerFlush: z.boolean().default(false),
  })
  .strict()
  .refine((m) => m.bufferSize <= m.concurrency, {
    message: 'bufferSize must be ≤ concurrency: fewer clients in flight than the buffer holds never fill it',
    path: ['bufferSize'],
  });

export const systemConfigSchema = z
  .object({
    devices: devicesConfigSchema,
    availability: availabilityConfigSchema.default({ kind: 'always' }),
    mode: z.discriminatedUnion('kind', [syncModeSchema, fedBuffModeSchema]).default({ kind: 'sync', overcommit: 1 }),
  })
  .strict()
  .refine((s) => s.availability.kind !== 'trace' || s.devices.kind === 'trace', {
    message: "availability 'trace' needs devices.kind 'trace' (the trace holds the online windows)",
    path: ['availability'],
  });
export type SystemConfig = z.infer<typeof systemConfigSchema>;
export type SyncMode = z.infer<typeof syncModeSchema>;
export type FedBuffMode = z.infer<typeof fedBuffModeSchema>;
