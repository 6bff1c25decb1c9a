import { z } from 'zod';
import type { BlobStore } from '../ports/blob-store.js';
import { decodeJson, encodeJson } from '../engine/json-blobs.js';

/**
 * What `fedsim status` and `fedsim cancel` read and write, in the run store beside the runs
 * (so it works the same for the embedded directory and for S3).
 */
export const sweepKeys = {
  plan: (sweepId: string) => `sweeps/${sweepId}/plan.json`,
  cancel: (sweepId: string) => `sweeps/${sweepId}/cancel.json`,
  sweepsPrefix: 'sweeps/',
  runStatus: (runId: string) => `runs/${runId}/status.json`,
  runCancel: (runId: string) => `runs/${runId}/cancel.json`,
};

export const runStateSchema = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type RunState = z.infer<typeof runStateSchema>;

export const runStatusSchema = z.object({
  runId: z.string(),
  sweep: z.string().nullable(),
  state: runStateSchema,
  /** rounds committed */
  round: z.number().int().min(0),
  rounds: z.number().int().positive(),
  /** rounds already committed when this process picked the run up */
  resumedFrom: z.number().int().min(0),
  startedAt: z.string().nullable(),
  updatedAt: z.string(),
  bestAccuracy: z.number().nullable(),
  failedClients: z.number().int().min(0),
  error: z.string().nullable(),
  finalModelSha256: z.string().nullable(),
  /** the process driving the run, to tell a live run from one whose process died */
  host: z.string(),
  pid: z.number().int(),
});
export type RunStatus = z.infer<typeof runStatusSchema>;

export const sweepRecordSchema = z.object({
  sweepId: z.string(),
  file: z.string(),
  axisPaths: z.array(z.string()),
  /** the reference table the report compares with, inlined (validated by the report) */
  referenceTable: z.unknown(),
  createdAt: z.string(),
  runs: z.array(z.object({ runId: z.string(), group: z.string(), values: z.record(z.string(), z.unknown()) })),
});
export type SweepRecord = z.infer<typeof sweepRecordSchema>;

async function readOptional<T>(store: BlobStore, key: string, schema: z.ZodType<T>): Promise<T | null> {
  if (!(await store.exists(key))) return null;
  return schema.parse(decodeJson(await store.get(key)));
}

export const readRunStatus = (store: BlobStore, runId: string) => readOptional(store, sweepKeys.runStatus(runId), runStatusSchema);
export const readSweepRecord = (store: BlobStore, sweepId: string) => readOptional(store, sweepKeys.plan(sweepId), sweepRecordSchema);
export const writeRunStatus = (store: BlobStore, status: RunStatus) => store.put(sweepKeys.runStatus(status.runId), encodeJson(status));
export const writeSweepRecord = (store: BlobStore, record: SweepRecord) => store.put(sweepKeys.plan(record.sweepId), encodeJson(record));

export async function listSweepIds(store: BlobStore): Promise<string[]> {
  const ids = new Set<string>();
  for (const key of await store.list(sweepKeys.sweepsPrefix)) {
    if (key.endsWith('/plan.json')) ids.add(key.slice(sweepKeys.sweepsPrefix.length, -'/plan.json'.length));
  }
  return [...ids].sort();
}

/** A cancel request for a sweep (all its runs) or one run; the process driving it stops at the next round boundary. */
export async function requestCancel(store: BlobStore, target: { sweep: string } | { run: string }): Promise<void> {
  const key = 'sweep' in target ? sweepKeys.cancel(target.sweep) : sweepKeys.runCancel(target.run);
  await store.put(key, encodeJson({ requestedAt: new Date().toISOString() }));
}

export async function cancelRequested(store: BlobStore, sweepId: string | null, runId: string): Promise<boolean> {
  return (await store.exists(sweepKeys.runCancel(runId))) || (sweepId !== null && (await store.exists(sweepKeys.cancel(sweepId))));
}

/** Starting a sweep or run again means resuming it: earlier cancel requests no longer apply. */
export async function clearCancel(store: BlobStore, sweepId: string | null, runIds: readonly string[]): Promise<void> {
  const keys = [...(sweepId ? [sweepKeys.cancel(sweepId)] : []), ...runIds.map(sweepKeys.runCancel)];
  for (const key of keys) if (await store.exists(key)) await store.delete(key);
}

/** Rough time left for a running run, from its rate since it was picked up. */
export function runEtaSeconds(s: RunStatus, now: Date): number | null {
  if (s.state !== 'running' || !s.startedAt || s.round <= s.resumedFrom) return null;
  const elapsed = (now.getTime() - Date.parse(s.startedAt)) / 1000;
  return (elapsed / (s.round - s.resumedFrom)) * (s.rounds - s.round);
}

/** What happened to one firing of a schedule (the service writes it; `schedule list` shows the latest). */
export const firingRecordSchema = z.object({
  schedule: z.string(),
  scheduledAt: z.string(),
  instance: z.string(),
  outcome: z.enum(['started', 'queued', 'finished', 'failed', 'skipped', 'duplicate', 'missed']),
  detail: z.string(),
  at: z.string(),
});
export type FiringRecord = z.infer<typeof firingRecordSchema>;

export const scheduleKeys = {
  firing: (schedule: string, instance: string) => `schedules/${schedule}/firings/${instance}.json`,
  firingsPrefix: (schedule: string) => `schedules/${schedule}/firings/`,
};

export const writeFiring = (store: BlobStore, f: FiringRecord) => store.put(scheduleKeys.firing(f.schedule, f.instance), encodeJson(f));

/** The latest `limit` firings of a schedule, newest first. */
export async function recentFirings(store: BlobStore, schedule: string, limit = 5): Promise<FiringRecord[]> {
  const keys = (await store.list(scheduleKeys.firingsPrefix(schedule))).sort().reverse().slice(0, limit);
  return Promise.all(keys.map(async (k) => firingRecordSchema.parse(decodeJson(await store.get(k)))));
}
