import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunSummary } from '@fedsim/runtime';
import { RunFailedError, combineObservers, runExperiment } from '@fedsim/runtime';
import type { RunStatus } from '@fedsim/runtime/sweep';
import { cancelRequested, clearCancel, readRunStatus, readSweepRecord, writeRunStatus, writeSweepRecord } from '@fedsim/runtime/sweep';
import type { SweepRun } from '@fedsim/runtime/sweep';
import type { Runtime } from '@fedsim/runtime/wiring';
import type { CoordinatorEnv } from '../env.js';
import { ResultsFiles } from '../results-files.js';
import type { RuntimeChoice } from '../runtime-choice.js';
import { dataOf, openRuntime } from '../runtime-choice.js';
import { ProgressBoard } from './progress-board.js';
import type { LoadedSweep } from './sweep-file.js';

export interface SweepRunOptions extends RuntimeChoice {
  /** runs in flight at once; default the sweep file's `concurrency` */
  readonly concurrency?: number;
  /** distributed: BullMQ priority of the sweep's jobs (default SWEEP_PRIORITY) */
  readonly priority?: number;
  readonly quiet: boolean;
}

/**
 * Sweeps queue their jobs with a BullMQ priority, single runs without one; BullMQ serves
 * unprioritized jobs first, so a sweep of any size cannot starve someone's single run, and
 * equal priorities stay FIFO, so the sweep's runs (at most `concurrency` in flight) interleave.
 */
export const SWEEP_PRIORITY = 10;

export type RunOutcome = 'done' | 'skipped' | 'failed' | 'cancelled';

export interface SweepOutcome {
  readonly runs: readonly { runId: string; outcome: RunOutcome; summary?: RunSummary; error?: string }[];
}

class RunCancelled extends Error {
  constructor(runId: string) {
    super(`run ${runId} cancelled`);
    this.name = 'RunCancelled';
  }
}

/**
 * Runs a sweep's runs, `concurrency` at a time, on one runtime: embedded runs share the compute
 * threads (the transport's FIFO limiter interleaves their jobs), distributed ones the worker
 * fleet. Every run is an ordinary resumable run, so starting the sweep again skips finished runs
 * and resumes interrupted ones at their first uncommitted round.
 */
export async function runSweep(plan: LoadedSweep, opts: SweepRunOptions, env: CoordinatorEnv): Promise<SweepOutcome> {
  const outDir = resolve(opts.out);
  const runtime = await openRuntime(opts, env);
  const { store } = runtime;
  if (!opts.quiet) console.error(`sweep ${plan.name}: ${plan.runs.length} runs; ${runtime.description}`);
  const board = new ProgressBoard(
    plan.runs.reduce((s, r) => s + r.config.rounds, 0),
    plan.runs.length,
    opts.quiet,
  );
  const stopSignals = () => {
    board.stop();
    console.error('interrupted: committed rounds are kept; run the same command again to resume the sweep');
    void runtime.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopSignals);
  process.once('SIGTERM', stopSignals);
  try {
    const previous = await readSweepRecord(store, plan.name);
    await writeSweepRecord(store, {
      sweepId: plan.name,
      file: plan.file,
      axisPaths: [...plan.axisPaths],
      referenceTable: plan.referenceTable,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
      runs: plan.runs.map((r) => ({ runId: r.runId, group: r.group, values: { ...r.values } })),
    });
    await clearCancel(store, plan.name, plan.runs.map((r) => r.runId));
    const pending: SweepRun[] = [];
    const outcomes: SweepOutcome['runs'][number][] = [];
    for (const run of plan.runs) {
      const status = await readRunStatus(store, run.runId);
      // From the status, not a listing of the run's keys (large on S3); the engine finds the
      // exact resume point, the status may lag it by the round a crash interrupted.
      const committed = status?.round ?? 0;
      board.alreadyCommitted(committed);
      if (status?.state === 'done') outcomes.push({ runId: run.runId, outcome: 'skipped' });
      else {
        pending.push(run);
        await writeRunStatus(store, initialStatus(plan.name, run, committed, status));
      }
    }
    const limit = Math.max(1, opts.concurrency ?? plan.concurrency);
    let next = 0;
    const lane = async () => {
      while (next < pending.length) {
        const run = pending[next++]!;
        outcomes.push(await runOne(plan.name, run, runtime, outDir, board, opts.distributed, opts.priority ?? SWEEP_PRIORITY, env));
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, pending.length) }, lane));
    board.stop();
    const order = new Map(plan.runs.map((r, i) => [r.runId, i]));
    return { runs: outcomes.sort((a, b) => order.get(a.runId)! - order.get(b.runId)!) };
  } finally {
    board.stop();
    process.off('SIGINT', stopSignals);
    process.off('SIGTERM', stopSignals);
    await runtime.close();
  }
}

function initialStatus(sweep: string, run: SweepRun, committed: number, previous: RunStatus | null): RunStatus {
  return {
    runId: run.runId,
    sweep,
    state: 'queued',
    round: committed,
    rounds: run.config.rounds,
    resumedFrom: committed,
    startedAt: null,
    updatedAt: new Date().toISOString(),
    bestAccuracy: previous?.bestAccuracy ?? null,
    failedClients: previous?.failedClients ?? 0,
    error: null,
    finalModelSha256: null,
    host: hostname(),
    pid: process.pid,
  };
}

async function runOne(
  sweep: string,
  run: SweepRun,
  runtime: Runtime,
  outDir: string,
  board: ProgressBoard,
  distributed: boolean,
  priority: number,
  env: CoordinatorEnv,
): Promise<SweepOutcome['runs'][number]> {
  const { store } = runtime;
  let status = (await readRunStatus(store, run.runId))!;
  const update = async (patch: Partial<RunStatus>) => {
    status = { ...status, ...patch, updatedAt: new Date().toISOString() };
    await writeRunStatus(store, status);
  };
  const results = new ResultsFiles(join(outDir, 'runs', run.runId), run.runId, distributed ? store : null);
  if (await cancelRequested(store, sweep, run.runId)) {
    await update({ state: 'cancelled' });
    board.runEnded(run.runId, 'cancelled before it started');
    return { runId: run.runId, outcome: 'cancelled' };
  }
  try {
    const summary = await runExperiment(run.config, {
      runId: run.runId,
      store,
      transport: runtime.transport,
      existing: 'resume',
      data: dataOf(env),
      priority,
      observer: combineObservers({
        async onStart(info) {
          await results.start(run.config, info.resumedFrom, info.committed);
          const from = info.resumedFrom ?? 0;
          await update({ state: 'running', startedAt: new Date().toISOString(), round: from, resumedFrom: from });
          board.runStarted(run.runId, from, info.rounds);
        },
        async onRound(row) {
          await results.append(row);
          const acc = row.evaluation?.['personalized']?.pooledAccuracy ?? null;
          await update({
            round: row.round + 1,
            bestAccuracy: acc !== null && (status.bestAccuracy === null || acc > status.bestAccuracy) ? acc : status.bestAccuracy,
            failedClients: status.failedClients + row.failed,
          });
          board.round(run.runId, row.round + 1, acc);
          // A clean stop: this round is committed and recorded; the next one never starts.
          if (row.round + 1 < run.config.rounds && (await cancelRequested(store, sweep, run.runId))) {
            throw new RunCancelled(run.runId);
          }
        },
      }),
    });
    await results.finish(summary);
    await update({ state: 'done', round: run.config.rounds, finalModelSha256: summary.finalModelSha256, bestAccuracy: summary.bestPersonalized?.accuracy ?? null });
    board.runEnded(run.runId, `done, final model sha256 ${summary.finalModelSha256.slice(0, 12)}…`);
    return { runId: run.runId, outcome: 'done', summary };
  } catch (err) {
    if (err instanceof RunCancelled) {
      await update({ state: 'cancelled' });
      board.runEnded(run.runId, 'cancelled (resumable)');
      return { runId: run.runId, outcome: 'cancelled' };
    }
    // One failed run does not stop the sweep; the error is kept for `fedsim status`.
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof RunFailedError) && env.FEDSIM_DEBUG) console.error(err);
    await update({ state: 'failed', error: message });
    board.runEnded(run.runId, `FAILED: ${message.split('\n')[0]}`);
    return { runId: run.runId, outcome: 'failed', error: message };
  }
}
