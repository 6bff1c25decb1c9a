import { hostname } from 'node:os';
import type { BlobStore } from '@fedsim/runtime';
import { ConfigError, keys } from '@fedsim/runtime';
import type { RunStatus } from '@fedsim/runtime/sweep';
import { listSweepIds, readRunStatus, readSweepRecord, requestCancel, runEtaSeconds } from '@fedsim/runtime/sweep';
import { formatDuration } from './progress-board.js';

/** A run's state as `fedsim status` shows it: `running` whose process is gone reads `interrupted`. */
export function effectiveState(s: RunStatus, now: Date, alive: (pid: number) => boolean = pidAlive): string {
  if (s.state !== 'running' && s.state !== 'queued') return s.state;
  if (s.host === hostname()) return alive(s.pid) ? s.state : 'interrupted';
  // Another machine's process: no heartbeat beyond the per-round update, so only flag it as stale.
  const idleMinutes = (now.getTime() - Date.parse(s.updatedAt)) / 60_000;
  return idleMinutes > 60 ? `${s.state} (no update for ${Math.round(idleMinutes)} min)` : s.state;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(2)}%`);

export interface StatusLine {
  readonly sweep: string | null;
  readonly runId: string;
  readonly state: string;
  readonly round: number;
  readonly rounds: number;
  readonly best: number | null;
  readonly failedClients: number;
  readonly error: string | null;
  readonly etaSeconds: number | null;
}

/** Every sweep in the store with its runs. Runs started outside a sweep have no status record and are not listed. */
export async function collectStatus(store: BlobStore, now = new Date()): Promise<StatusLine[]> {
  const lines: StatusLine[] = [];
  for (const sweepId of await listSweepIds(store)) {
    const record = (await readSweepRecord(store, sweepId))!;
    for (const { runId } of record.runs) {
      const s = await readRunStatus(store, runId);
      lines.push(
        s
          ? { sweep: sweepId, runId, state: effectiveState(s, now), round: s.round, rounds: s.rounds, best: s.bestAccuracy,
              failedClients: s.failedClients, error: s.error, etaSeconds: runEtaSeconds(s, now) }
          : { sweep: sweepId, runId, state: 'not started', round: 0, rounds: 0, best: null, failedClients: 0, error: null, etaSeconds: null },
      );
    }
  }
  return lines;
}

export function formatStatus(lines: readonly StatusLine[]): string {
  if (lines.length === 0) return 'no sweeps in this store (status tracks sweeps; a single run shows its progress in its own output)';
  const out: string[] = [];
  const bySweep = new Map<string | null, StatusLine[]>();
  for (const l of lines) bySweep.set(l.sweep, [...(bySweep.get(l.sweep) ?? []), l]);
  for (const [sweep, runs] of bySweep) {
    const counts = new Map<string, number>();
    for (const r of runs) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    const etas = runs.map((r) => r.etaSeconds).filter((e): e is number => e !== null);
    const eta = etas.length ? ` ETA ${formatDuration(Math.max(...etas))} for the active runs` : '';
    out.push(`sweep ${sweep}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}${eta}`);
    for (const r of runs) {
      const parts = [`  ${r.runId.padEnd(44)}`, r.state.padEnd(12), r.rounds ? `${r.round}/${r.rounds}`.padEnd(9) : ''.padEnd(9), `best ${pct(r.best)}`];
      if (r.failedClients) parts.push(`${r.failedClients} client failures`);
      if (r.etaSeconds !== null) parts.push(`ETA ${formatDuration(r.etaSeconds)}`);
      if (r.error) parts.push(`error: ${r.error.split('\n')[0]}`);
      out.push(parts.join(' '));
    }
  }
  return out.join('\n');
}

/** Asks the process driving a sweep or run to stop after its current round; the state stays resumable. */
export async function cancel(store: BlobStore, id: string): Promise<string> {
  if (await readSweepRecord(store, id)) {
    await requestCancel(store, { sweep: id });
    return `cancel requested for sweep ${id}: running runs stop after their current round, queued ones do not start; 'fedsim sweep run' resumes it`;
  }
  if (await store.exists(keys.run(id))) {
    await requestCancel(store, { run: id });
    return `cancel requested for run ${id}: it stops after its current round; running its sweep again resumes it`;
  }
  throw new ConfigError(`no sweep or run '${id}' in ${store.describe()}`);
}
