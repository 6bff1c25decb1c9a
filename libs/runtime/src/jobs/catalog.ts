import { z } from 'zod';

/**
 * Every job's payload and reply, shared by the producer (coordinator, embedded engine) and the
 * consumer (worker). Payloads carry keys and ids only; tensors travel through the blob store.
 */
const runId = z.string().min(1).max(120);
const round = z.number().int().min(0);
const clientId = z.number().int().min(0);
const key = z.string().min(1);
/** metric labels every job carries (never client ids or rounds) */
const labels = z.object({ experiment: z.string(), algorithm: z.string() });
export type JobMetricLabels = z.infer<typeof labels>;

/** A client's stored state: entry name → key of the blob holding it. */
export const stateRefsSchema = z.record(z.string(), key);
export type StateRefs = z.infer<typeof stateRefsSchema>;

export const trainPayloadSchema = z.object({
  runId,
  labels,
  round,
  clientId,
  /** only the entries the algorithm's client side reads */
  state: stateRefsSchema,
  instructionKey: key.nullable(),
});
export type TrainPayload = z.infer<typeof trainPayloadSchema>;

export const trainReplySchema = z.object({
  updateKey: key,
  /** the blob holding the state entries this job produced; null when it produced none */
  stateKey: key.nullable(),
  stateEntries: z.array(z.string()),
  numSamples: z.number().int().positive(),
  loss: z.number(),
  steps: z.number().int().min(0),
  seconds: z.number().min(0),
  uploadBytes: z.number().int().min(0),
  downloadBytes: z.number().int().min(0),
  backend: z.string(),
  /** host/pid of the process that trained: for operators tracing a client, and tests */
  worker: z.string(),
});
export type TrainReply = z.infer<typeof trainReplySchema>;

export const evalPayloadSchema = z.object({
  runId,
  labels,
  /** the model version evaluated: θ_g^round and the state index after round − 1 */
  round,
  clientId,
  state: stateRefsSchema,
});
export type EvalPayload = z.infer<typeof evalPayloadSchema>;

export const evalCountsSchema = z.object({
  correct: z.number().int().min(0),
  total: z.number().int().min(0),
  lossSum: z.number(),
});
export const evalReplySchema = z.object({
  /** named evaluations: personalized (always), global, before, after, ... */
  results: z.record(z.string(), evalCountsSchema),
  seconds: z.number().min(0),
  backend: z.string(),
});
export type EvalReply = z.infer<typeof evalReplySchema>;

export const aggregatePayloadSchema = z.object({
  runId,
  labels,
  round,
  clients: z.array(clientId),
  /** the state index the round's clients started from (end of round − 1); null before any */
  previousStateIndexKey: key.nullable(),
});
export type AggregatePayload = z.infer<typeof aggregatePayloadSchema>;

export const clientFailureSchema = z.object({ clientId, reason: z.string() });
export type ClientFailure = z.infer<typeof clientFailureSchema>;

export const commitRecordSchema = z.object({
  round,
  status: z.literal('committed'),
  nextGlobalKey: key,
  stateIndexKey: key,
  succeeded: z.array(clientId),
  failures: z.array(clientFailureSchema),
  /** sample-weighted mean training loss over the clients that succeeded */
  trainLoss: z.number().nullable(),
  trainSeconds: z.number(),
  uploadBytes: z.number(),
  downloadBytes: z.number(),
  backends: z.array(z.string()),
  /** the worker processes that delivered this round's accepted updates */
  workers: z.array(z.string()),
  /** per-client facts the algorithm reported when preparing round + 1 (e.g. personalised elements) */
  prepareReports: z.record(z.string(), z.unknown()),
  aggregateSeconds: z.number(),
});
export type CommitRecord = z.infer<typeof commitRecordSchema>;

export const roundFailureSchema = z.object({
  round,
  status: z.literal('failed'),
  reason: z.string(),
  failures: z.array(clientFailureSchema),
});
export const aggregateReplySchema = z.discriminatedUnion('status', [commitRecordSchema, roundFailureSchema]);
export type AggregateReply = z.infer<typeof aggregateReplySchema>;

export const evalSummaryPayloadSchema = z.object({ runId, labels, round, clients: z.array(clientId) });
export type EvalSummaryPayload = z.infer<typeof evalSummaryPayloadSchema>;

export const evalStatsSchema = z.object({
  /** all clients' test predictions pooled */
  pooledAccuracy: z.number(),
  pooledLoss: z.number(),
  /** over clients' own accuracies */
  mean: z.number(),
  std: z.number(),
  min: z.number(),
  max: z.number(),
  clients: z.number().int(),
  samples: z.number().int(),
});
export type EvalStats = z.infer<typeof evalStatsSchema>;

export const evalSummarySchema = z.object({
  round,
  /** per named evaluation (personalized, global, before, after) */
  results: z.record(z.string(), evalStatsSchema),
  /** clientId → named accuracy, for the run's per-client report */
  perClient: z.record(z.string(), z.record(z.string(), z.number())),
  failures: z.array(clientFailureSchema),
});
export type EvalSummary = z.infer<typeof evalSummarySchema>;

/** Parses a job payload or reply at the edge, with an error that names the job and the field. */
export function parseJob<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidJobError(`invalid ${what}: ${detail}`);
  }
  return r.data;
}

export class InvalidJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidJobError';
  }
}
