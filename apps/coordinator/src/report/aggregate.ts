import type { EvalSummary, RoundRow } from '@fedsim/runtime';
import { droppedByReason } from '@fedsim/fl/system';
import type { RunData } from './collect.js';
import type { ReferenceTable } from './reference.js';
import { referenceFor } from './reference.js';

/** mean and sample standard deviation (n − 1); std is null below two values */
export interface MeanStd {
  readonly mean: number;
  readonly std: number | null;
  readonly n: number;
}

export function meanStd(xs: readonly number[]): MeanStd | null {
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null, n: xs.length };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(variance), n: xs.length };
}

const personalized = (e: EvalSummary) => e.results['personalized']?.pooledAccuracy;

/** Per run, in percent: best and final pooled personalised accuracy, and the final std over clients. */
export interface RunStats {
  readonly runId: string;
  readonly group: string;
  readonly algorithm: string;
  readonly seed: number;
  readonly state: string;
  readonly roundsDone: number;
  readonly rounds: number;
  readonly best: { readonly accuracy: number; readonly round: number } | null;
  readonly final: number | null;
  /** std over clients of their own accuracies, at the final evaluation */
  readonly finalClientStd: number | null;
  readonly wallSeconds: number;
  /** the virtual clock at the end of the last round with a row (runs with a `system` block), else null */
  readonly virtualSeconds: number | null;
  /** upload + download bytes per round, mean over the rounds with result rows */
  readonly bytesPerRound: number | null;
  readonly finalModelSha256: string | null;
}

export function runStats(run: RunData): RunStats {
  let best: RunStats['best'] = null;
  for (const e of run.evals) {
    const acc = personalized(e);
    if (acc !== undefined && (!best || 100 * acc > best.accuracy)) best = { accuracy: 100 * acc, round: e.round };
  }
  const last = run.evals.at(-1);
  const finished = last?.round === run.config.rounds;
  const finalAcc = finished ? personalized(last) : undefined;
  const finalStd = finished ? last.results['personalized']?.std : undefined;
  const bytes = run.rows.map((r) => r.uploadBytes + r.downloadBytes);
  return {
    runId: run.runId,
    group: run.group,
    algorithm: run.config.algorithm.name,
    seed: run.config.seed,
    state: run.status?.state ?? (finished ? 'done' : 'unknown'),
    roundsDone: run.status?.round ?? run.rows.length,
    rounds: run.config.rounds,
    best,
    final: finalAcc === undefined ? null : 100 * finalAcc,
    finalClientStd: finalStd === undefined ? null : 100 * finalStd,
    wallSeconds: run.rows.reduce((s, r) => s + r.wallSeconds, 0),
    virtualSeconds: run.rows.at(-1)?.virtual?.endSeconds ?? null,
    bytesPerRound: bytes.length ? bytes.reduce((a, b) => a + b, 0) / bytes.length : null,
    finalModelSha256: run.status?.finalModelSha256 ?? null,
  };
}

/** One group (all axes but seed): statistics over its seeds. */
export interface GroupStats {
  readonly group: string;
  readonly algorithm: string;
  readonly runs: number;
  /** runs with a final evaluation */
  readonly finished: number;
  readonly best: MeanStd | null;
  readonly final: MeanStd | null;
  /** mean over seeds of the final std over clients */
  readonly clientStd: number | null;
  readonly wallSeconds: MeanStd | null;
  readonly bytesPerRound: number | null;
  readonly reference: { readonly accuracy: number; readonly delta: number | null; readonly note?: string } | null;
}

const defined = <T>(xs: readonly (T | null)[]): T[] => xs.filter((x): x is T => x !== null);

export function groupStats(runs: readonly RunData[], table: ReferenceTable | null): GroupStats[] {
  const groups = new Map<string, RunData[]>();
  for (const r of runs) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  return [...groups.entries()].map(([group, members]) => {
    const stats = members.map(runStats);
    const best = meanStd(defined(stats.map((s) => s.best?.accuracy ?? null)));
    const ref = table ? referenceFor(table, members[0]!.config) : undefined;
    const clientStds = defined(stats.map((s) => s.finalClientStd));
    const bytes = defined(stats.map((s) => s.bytesPerRound));
    return {
      group,
      algorithm: stats[0]!.algorithm,
      runs: members.length,
      finished: stats.filter((s) => s.final !== null).length,
      best,
      final: meanStd(defined(stats.map((s) => s.final))),
      clientStd: clientStds.length ? clientStds.reduce((a, b) => a + b, 0) / clientStds.length : null,
      wallSeconds: meanStd(stats.map((s) => s.wallSeconds)),
      bytesPerRound: bytes.length ? bytes.reduce((a, b) => a + b, 0) / bytes.length : null,
      reference: ref
        ? { accuracy: ref.accuracy, delta: best ? best.mean - ref.accuracy : null, ...(ref.note ? { note: ref.note } : {}) }
        : null,
    };
  });
}

/** Accuracy (percent) per group, seed and evaluated round: the data behind the curves with bands. */
export function curvePoints(runs: readonly RunData[]) {
  return runs.flatMap((r) =>
    r.evals.flatMap((e) => {
      const acc = personalized(e);
      return acc === undefined ? [] : [{ group: r.group, seed: r.config.seed, round: e.round, accuracy: 100 * acc }];
    }),
  );
}

/** Final per-client personalised accuracy (percent), pooled over a group's seeds. */
export function clientPoints(runs: readonly RunData[]) {
  return runs.flatMap((r) => {
    const last = r.evals.at(-1);
    if (!last || last.round !== r.config.rounds) return [];
    return Object.entries(last.perClient).flatMap(([client, views]) =>
      views['personalized'] === undefined ? [] : [{ group: r.group, seed: r.config.seed, client: Number(client), accuracy: 100 * views['personalized'] }],
    );
  });
}

/** Communication per round (upload + download, MB), per group and seed. */
export function bytesPoints(runs: readonly RunData[]) {
  return runs.flatMap((r) =>
    r.rows.map((row) => ({ group: r.group, seed: r.config.seed, round: row.round, megabytes: (row.uploadBytes + row.downloadBytes) / 1e6 })),
  );
}

/** The virtual clock when model round m was evaluated: 0 for θ^0, else the end of round m − 1 (null when unknown). */
function virtualClockAt(rows: readonly RoundRow[], modelRound: number): number | null {
  if (modelRound === 0) return 0;
  return rows.find((r) => r.round === modelRound - 1)?.virtual?.endSeconds ?? null;
}

/**
 * Accuracy (percent) against the virtual clock, per group and seed, for runs planned in virtual
 * time (a `system` block); runs without one contribute nothing.
 */
export function virtualCurvePoints(runs: readonly RunData[]) {
  return runs.flatMap((r) => {
    if (!r.rows.some((row) => row.virtual)) return [];
    return r.evals.flatMap((e) => {
      const acc = personalized(e);
      const seconds = virtualClockAt(r.rows, e.round);
      return acc === undefined || seconds === null ? [] : [{ group: r.group, seed: r.config.seed, virtualSeconds: seconds, accuracy: 100 * acc }];
    });
  });
}

/** One run's clients dropped per round, per reason (zeros included, so means over seeds count them). */
export function roundDropPoints(group: string, seed: number, rows: readonly RoundRow[]) {
  return rows.flatMap((row) =>
    row.virtual
      ? Object.entries(droppedByReason(row.virtual.dropped)).map(([reason, clients]) => ({ group, seed, round: row.round, reason, clients }))
      : [],
  );
}

export const droppedPoints = (runs: readonly RunData[]) => runs.flatMap((r) => roundDropPoints(r.group, r.config.seed, r.rows));
