import { z } from 'zod';
import { InvalidJobError } from '../errors/non-retryable.js';
import { formatIssues } from '@fedsim/fl/util';
import { failureCodeSchema, JOB_FAILURE_CODES } from './failures.js';

/**
 * Every job's payload and reply, shared by the producer (coordinator, embedded engine) and the
 * consumer (worker). Payloads carry keys and ids only; tensors travel through the blob store.
 */
/** A run id as every job carries it (also the CLI's --run-id and the store's key prefix). */
export const runIdSchema = z.string().min(1).max(120);
const runId = runIdSchema;
const round = z.number().int().min(0);
const clientId = z.number().int().min(0);
const key = z.string().min(1);
/** metric labels every job carries (never client ids or rounds) */
const labels = z.object({ experiment: z.string(), algorithm: z.string() });
export type JobMetricLabels = z.infer<typeof labels>;

/** Where a state entry lies in its pack: `length` float32 values from byte `offset`. */
export const stateSectionSchema = z.object({ offset: z.number().int().min(0), length: z.number().int().min(0) });
export type StateSection = z.infer<typeof stateSectionSchema>;
/** A client's stored state: entry name → the pack holding it and the entry's section there. */
export const stateRefsSchema = z.record(z.string(), stateSectionSchema.extend({ key }));
export type StateRefs = z.infer<typeof stateRefsSchema>;
/**
 * The client → state-location map as of a commit: for each block of clients (engine/client-state),
 * the round whose aggregation wrote the block's latest version (−1: written when round 0 was
 * prepared), or null when no client of the block has state yet.
 */
export const stateShardTableSchema = z.array(z.number().int().min(-1).nullable());
export type StateShardTable = z.infer<typeof stateShardTableSchema>;

export const trainPayloadSchema = z.object({
  runId,
  labels,
  round,
  clientId,
  /** only the entries the algorithm's client side reads */
  state: stateRefsSchema,
  instructionKey: key.nullable(),
  /** FedBuff: the dispatch this job trains (its id keys the update) and the model version it starts from */
  dispatch: z.object({ id: z.number().int().min(0), baseVersion: round }).optional(),
});
export type TrainPayload = z.infer<typeof trainPayloadSchema>;

export const trainReplySchema = z.object({
  updateKey: key,
  /** the state pack holding the entries this job produced; null when it produced none */
  stateKey: key.nullable(),
  /** this client's entries in that pack */
  stateEntries: z.record(z.string(), stateSectionSchema),
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

/** One client of a cohort job: what a `train` job's payload says about its client. */
export const cohortClientSchema = trainPayloadSchema.pick({ clientId: true, state: true, instructionKey: true });

/** A cohort: clients trained one after another by one job, the model and data resident. */
export const trainCohortPayloadSchema = z.object({
  runId,
  labels,
  round,
  /** the cohort's position in the round (partials are summed in this order) */
  cohort: z.number().int().min(0),
  /** ascending client ids */
  clients: z.array(cohortClientSchema).min(1),
  /** sum accepted updates into one partial (the algorithm declared a weighted-sum aggregation) */
  partialSum: z.boolean(),
});
export type TrainCohortPayload = z.infer<typeof trainCohortPayloadSchema>;

const cohortClientReplySchema = z.discriminatedUnion('ok', [
  trainReplySchema
    .omit({ updateKey: true, backend: true, worker: true })
    .extend({
      clientId,
      ok: z.literal(true),
      /** the client's update; null when it went into the cohort's partial */
      updateKey: key.nullable(),
    }),
  z.object({ clientId, ok: z.literal(false), code: failureCodeSchema, detail: z.string() }),
]);
export type CohortClientReply = z.infer<typeof cohortClientReplySchema>;

export const trainCohortReplySchema = z.object({
  /** one entry per client of the payload, in its order */
  clients: z.array(cohortClientReplySchema),
  /** the partial sum of the accepted clients' updates; null without partialSum or when none was accepted */
  partialKey: key.nullable(),
  /** bytes the job moved once for the whole cohort: θ_g down, the partial up (per-client bytes are in `clients`) */
  downloadBytes: z.number().int().min(0),
  uploadBytes: z.number().int().min(0),
  backend: z.string(),
  worker: z.string(),
});
export type TrainCohortReply = z.infer<typeof trainCohortReplySchema>;

export const evalPayloadSchema = z.object({
  runId,
  labels,
  /** the model version evaluated: θ_g^round and the client state after round − 1 */
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

/** A cohort of clients evaluated one after another by one job, θ_g fetched once. */
export const evalCohortPayloadSchema = z.object({
  runId,
  labels,
  round,
  /** the cohort's position in the evaluation */
  cohort: z.number().int().min(0),
  /** ascending client ids */
  clients: z.array(evalPayloadSchema.pick({ clientId: true, state: true })).min(1),
});
export type EvalCohortPayload = z.infer<typeof evalCohortPayloadSchema>;

const evalCohortClientReplySchema = z.discriminatedUnion('ok', [
  evalReplySchema.pick({ results: true }).extend({ clientId, ok: z.literal(true) }),
  z.object({ clientId, ok: z.literal(false), code: failureCodeSchema, detail: z.string() }),
]);
export type EvalCohortClientReply = z.infer<typeof evalCohortClientReplySchema>;

export const evalCohortReplySchema = z.object({
  /** one entry per client of the payload, in its order */
  clients: z.array(evalCohortClientReplySchema),
  seconds: z.number().min(0),
  backend: z.string(),
});
export type EvalCohortReply = z.infer<typeof evalCohortReplySchema>;

export const aggregatePayloadSchema = z.object({
  runId,
  labels,
  round,
  clients: z.array(clientId),
  /** the next round's clients, sampled once by the coordinator; empty after the last round */
  nextClients: z.array(clientId),
  /** the state-location map the round's clients started from (end of round − 1) */
  previousStateShards: stateShardTableSchema,
  /** the round's cohorts (client ids) when its clients train in `trainCohort` jobs; absent: one `train` job per client */
  cohorts: z.array(z.array(clientId).min(1)).optional(),
  /** which try of the round this is (0-based, engine/round-attempts.ts); absent in payloads queued before tries were counted */
  attempt: z.number().int().min(0).optional(),
  /** FedBuff: the round's arrivals in order (one `train` job each, id `d<dispatch>`); `clients` lists their client ids */
  fedbuff: z
    .object({
      arrivals: z.array(z.object({ dispatch: z.number().int().min(0), clientId, baseVersion: round, staleness: z.number().int().min(0) })).min(1),
      /** the dispatches that start from the version this round commits, for algorithms that prepare them (`instruct`) */
      nextDispatches: z.array(z.object({ dispatch: z.number().int().min(0), clientId })).optional(),
    })
    .optional(),
  /**
   * Present when the cohorts' partials were first summed by `reduce` jobs, one per group of
   * `fanIn` consecutive cohorts: each group's outcome, in group order, as the coordinator got it.
   */
  tree: z
    .object({
      fanIn: z.number().int().min(2),
      reductions: z.array(
        z.discriminatedUnion('ok', [
          z.object({ ok: z.literal(true), value: z.unknown() }),
          z.object({ ok: z.literal(false), code: failureCodeSchema, error: z.string() }),
        ]),
      ),
    })
    .optional(),
});
export type AggregatePayload = z.infer<typeof aggregatePayloadSchema>;

/** A group of consecutive cohorts whose partials one `reduce` job sums, once their jobs are done. */
export const reducePayloadSchema = z.object({
  runId,
  labels,
  round,
  /** the group's position in the round (reduced partials are summed in this order) */
  group: z.number().int().min(0),
  /** index of the group's first cohort in the round */
  firstCohort: z.number().int().min(0),
  /** the group's cohorts (client ids), in cohort order */
  cohorts: z.array(z.array(clientId).min(1)).min(1),
});
export type ReducePayload = z.infer<typeof reducePayloadSchema>;

/** A child's outcome as a parent received it (ports/transport.ts ChildOutcome). */
const childOutcomeSchema = z.discriminatedUnion('ok', [
  z.object({ id: z.string(), ok: z.literal(true), value: z.unknown() }),
  z.object({ id: z.string(), ok: z.literal(false), code: z.enum(JOB_FAILURE_CODES).exclude(['missing']), error: z.string() }),
]);

export const reduceReplySchema = z.object({
  /** the group's cohort outcomes as the job received them, in cohort order: the aggregation reads the clients' results here */
  outcomes: z.array(childOutcomeSchema),
  /** the sum of the summed cohorts' partials; null when none was summed */
  partialKey: key.nullable(),
  /** cohorts whose partial is in the sum, ascending */
  summed: z.array(z.number().int().min(0)),
  /** cohorts with a partial the job refused, and why */
  refused: z.array(z.object({ cohort: z.number().int().min(0), code: failureCodeSchema, detail: z.string() })),
  /** partial sums this job read */
  partialsRead: z.number().int().min(0),
  seconds: z.number().min(0),
  worker: z.string(),
});
export type ReduceReply = z.infer<typeof reduceReplySchema>;

/** A client that produced no accepted result in a round or evaluation: typed, never parsed from text. */
export const clientFailureSchema = z.object({
  clientId,
  kind: z.enum(['train', 'eval']),
  code: failureCodeSchema,
  /** for people: the error message or what was wrong with the update */
  detail: z.string(),
});
export type ClientFailure = z.infer<typeof clientFailureSchema>;

export const commitRecordSchema = z.object({
  round,
  status: z.literal('committed'),
  nextGlobalKey: key,
  /** where every client's state is after this round (and the next round's preparation) */
  stateShards: stateShardTableSchema,
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
  /** per-client facts the algorithm reported when preparing round + 1 (e.g. personalized elements) */
  prepareReports: z.record(z.string(), z.unknown()),
  /** what a robust or DP aggregation reported (robust rule, clipped updates, DP noise σ); absent for plain ones */
  aggregation: z.record(z.string(), z.unknown()).optional(),
  aggregateSeconds: z.number(),
  /** blobs of updates and partials read: by the aggregation job, and by the most-reading of the round's reduce jobs */
  reads: z.object({ aggregate: z.number().int().min(0), reduceJobs: z.number().int().min(0), maxPerReduceJob: z.number().int().min(0) }).optional(),
  /** the slowest of the round's reduce jobs (tree aggregation), as it reports itself */
  reduceSeconds: z.number().min(0).optional(),
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

export const evalSummaryPayloadSchema = z.object({
  runId,
  labels,
  round,
  clients: z.array(clientId),
  /** the evaluation's cohorts (client ids) when its clients run in `evalCohort` jobs; absent: one `eval` job per client */
  cohorts: z.array(z.array(clientId).min(1)).optional(),
});
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

/** Retries of one job kind: how many tries, read from the experiment's `failures` settings. */
interface FailureSettings {
  readonly attempts: number;
  readonly aggregateAttempts: number;
  readonly roundDeadlineSeconds: number;
}

const roundDeadlineMs = (f: FailureSettings) => f.roundDeadlineSeconds * 1000;
/** a client's job: retried up to `failures.attempts` times within the round's deadline */
const clientJob = { attempts: (f: FailureSettings) => f.attempts, timeoutMs: roundDeadlineMs };
/** a round's parent job: `failures.aggregateAttempts` tries */
const roundJob = { attempts: (f: FailureSettings) => f.aggregateAttempts, timeoutMs: roundDeadlineMs };

/**
 * Every job kind: where it runs in a flow (a `child` per client, or the `parent` that runs once
 * the children are done), its payload and reply schemas, how often it is tried and how long its
 * flow may take. Transports, handlers and the thread pool are typed from this table.
 */
export const jobCatalog = {
  train: { stage: 'child', payload: trainPayloadSchema, reply: trainReplySchema, ...clientJob },
  trainCohort: { stage: 'child', payload: trainCohortPayloadSchema, reply: trainCohortReplySchema, ...clientJob },
  eval: { stage: 'child', payload: evalPayloadSchema, reply: evalReplySchema, ...clientJob },
  reduce: { stage: 'parent', payload: reducePayloadSchema, reply: reduceReplySchema, ...roundJob },
  evalCohort: { stage: 'child', payload: evalCohortPayloadSchema, reply: evalCohortReplySchema, ...clientJob },
  aggregate: { stage: 'parent', payload: aggregatePayloadSchema, reply: aggregateReplySchema, ...roundJob },
  evalSummary: { stage: 'parent', payload: evalSummaryPayloadSchema, reply: evalSummarySchema, ...roundJob },
} as const;

/** A flow's deadline and tries, from the catalog entries of its child and parent kinds. */
export function flowPolicy(child: ChildKind, parent: ParentKind, failures: FailureSettings) {
  return {
    deadlineMs: jobCatalog[child].timeoutMs(failures),
    attempts: jobCatalog[child].attempts(failures),
    parentAttempts: jobCatalog[parent].attempts(failures),
  };
}

type Catalog = typeof jobCatalog;
export type JobKind = keyof Catalog;
export type ChildKind = { [K in JobKind]: Catalog[K]['stage'] extends 'child' ? K : never }[JobKind];
export type ParentKind = Exclude<JobKind, ChildKind>;
export const JOB_KINDS = Object.keys(jobCatalog) as JobKind[];
export const CHILD_KINDS = JOB_KINDS.filter((k): k is ChildKind => jobCatalog[k].stage === 'child');
export const PARENT_KINDS = JOB_KINDS.filter((k): k is ParentKind => jobCatalog[k].stage === 'parent');

/** Payload and reply of every job kind. */
export type Jobs = { readonly [K in JobKind]: { readonly payload: z.infer<Catalog[K]['payload']>; readonly reply: z.infer<Catalog[K]['reply']> } };
/** What any table of jobs looks like; transports carry payloads without looking inside. */
export type JobShapes = { readonly [K in JobKind]: { readonly payload: unknown; readonly reply: unknown } };
/** Jobs whose payloads and replies are opaque: transport plumbing and its tests. */
export type UntypedJobs = JobShapes;

/** Validates a job's payload against its catalog schema (a bad payload is not retried). */
export function parsePayload<K extends JobKind>(kind: K, value: unknown): Jobs[K]['payload'] {
  return parseJob(jobCatalog[kind].payload as unknown as z.ZodType<Jobs[K]['payload']>, value, `${kind} job payload`);
}

/** Validates a job's reply against its catalog schema. */
export function parseReply<K extends JobKind>(kind: K, value: unknown, what = `${kind} job reply`): Jobs[K]['reply'] {
  return parseJob(jobCatalog[kind].reply as unknown as z.ZodType<Jobs[K]['reply']>, value, what);
}

/** Parses a job payload or reply at the edge, with an error that names the job and the field. */
export function parseJob<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidJobError(`invalid ${what}: ${formatIssues(r.error)}`);
  return r.data;
}

export { InvalidJobError };
