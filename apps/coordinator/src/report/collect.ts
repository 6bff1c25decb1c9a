import type { BlobStore, EvalSummary, ExperimentConfig, RoundRow } from '@fedsim/runtime';
import { ConfigError, evalSummarySchema, keys, parseExperiment } from '@fedsim/runtime';
import type { RunStatus } from '@fedsim/runtime/sweep';
import { readRunStatus, readSweepRecord } from '@fedsim/runtime/sweep';

/** Everything the report needs about one run, read from the run store. */
export interface RunData {
  readonly runId: string;
  readonly group: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly config: ExperimentConfig;
  /** every evaluation in the store, by model round (authoritative even when result rows were lost to a crash) */
  readonly evals: readonly EvalSummary[];
  readonly rows: readonly RoundRow[];
  readonly status: RunStatus | null;
}

export interface ReportInput {
  readonly title: string;
  readonly kind: 'sweep' | 'run';
  readonly axisPaths: readonly string[];
  /** the sweep's reference table as recorded, if it names one */
  readonly referenceTable: unknown;
  readonly runs: readonly RunData[];
  /** planned runs that have not started (no run record yet) */
  readonly missing: readonly string[];
}

const decode = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

async function readRows(store: BlobStore, runId: string): Promise<RoundRow[]> {
  // Embedded runs keep results.jsonl in the store's directory; distributed ones mirror it under results/.
  for (const key of [`runs/${runId}/results.jsonl`, `runs/${runId}/results/results.jsonl`]) {
    if (!(await store.exists(key))) continue;
    const byRound = new Map<number, RoundRow>();
    for (const line of Buffer.from(await store.get(key)).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as RoundRow;
      byRound.set(row.round, row);
    }
    return [...byRound.values()].sort((a, b) => a.round - b.round);
  }
  return [];
}

async function readRun(store: BlobStore, runId: string, group: string, values: Record<string, unknown>): Promise<RunData | null> {
  if (!(await store.exists(keys.run(runId)))) return null;
  const record = decode(await store.get(keys.run(runId))) as { config: unknown };
  const config = parseExperiment(record.config, `run record of ${runId}`);
  const evals: EvalSummary[] = [];
  for (const key of await store.list(keys.evalsPrefix(runId))) {
    const parsed = evalSummarySchema.safeParse(decode(await store.get(key)));
    if (parsed.success && parsed.data.round <= config.rounds) evals.push(parsed.data);
  }
  evals.sort((a, b) => a.round - b.round);
  return { runId, group, values, config, evals, rows: await readRows(store, runId), status: await readRunStatus(store, runId) };
}

/** A sweep id (sweeps/<id>/plan.json) or a single run id (runs/<id>/run.json). */
export async function collectReportInput(store: BlobStore, id: string): Promise<ReportInput> {
  const sweep = await readSweepRecord(store, id);
  if (sweep) {
    const runs: RunData[] = [];
    const missing: string[] = [];
    for (const r of sweep.runs) {
      const data = await readRun(store, r.runId, r.group, r.values);
      if (data) runs.push(data);
      else missing.push(r.runId);
    }
    return { title: `sweep ${id}`, kind: 'sweep', axisPaths: sweep.axisPaths, referenceTable: sweep.referenceTable ?? null, runs, missing };
  }
  const run = await readRun(store, id, id, {});
  if (!run) {
    throw new ConfigError(`no sweep or run '${id}' in ${store.describe()} (looked for sweeps/${id}/plan.json and runs/${id}/run.json)`);
  }
  return { title: `run ${id}`, kind: 'run', axisPaths: [], referenceTable: null, runs: [run], missing: [] };
}
