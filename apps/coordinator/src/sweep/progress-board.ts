import cliProgress from 'cli-progress';

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(2)}%`);

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

interface ActiveRun {
  round: number;
  readonly rounds: number;
  best: number | null;
  bar: cliProgress.SingleBar | null;
}

/**
 * Sweep progress: one line (a bar on a terminal) per active run, and the sweep's total with an
 * ETA from the rounds finished so far in this process.
 */
export class ProgressBoard {
  private readonly active = new Map<string, ActiveRun>();
  private readonly multi: cliProgress.MultiBar | null;
  private readonly total: cliProgress.SingleBar | null;
  private readonly startedAt = performance.now();
  private roundsThisProcess = 0;
  private committed = 0;
  private runsDone = 0;

  constructor(
    private readonly totalRounds: number,
    private readonly totalRuns: number,
    private readonly quiet: boolean,
  ) {
    const tty = process.stderr.isTTY && !quiet;
    this.multi = tty
      ? new cliProgress.MultiBar(
          { format: '{name} {bar} {value}/{total} {status}', hideCursor: true, stream: process.stderr, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.total = this.multi?.create(totalRounds, 0, { name: 'sweep'.padEnd(40), status: '' }) ?? null;
  }

  /** rounds already committed by earlier processes (resumed or finished runs) */
  alreadyCommitted(rounds: number): void {
    this.committed += rounds;
    this.refreshTotal();
  }

  runStarted(runId: string, round: number, rounds: number): void {
    const bar = this.multi?.create(rounds, round, { name: runId.slice(-40).padEnd(40), status: '' }) ?? null;
    this.active.set(runId, { round, rounds, best: null, bar });
    this.say(`${runId}: started at round ${round}/${rounds}`);
  }

  round(runId: string, round: number, accuracy: number | null): void {
    const run = this.active.get(runId);
    if (!run) return;
    run.round = round;
    if (accuracy !== null && (run.best === null || accuracy > run.best)) run.best = accuracy;
    this.roundsThisProcess++;
    this.committed++;
    run.bar?.update(round, { status: `best ${pct(run.best)}` });
    this.refreshTotal();
    this.say(`${runId}: round ${round}/${run.rounds} best ${pct(run.best)} | ${this.totalLine()}`);
  }

  runEnded(runId: string, outcome: string): void {
    const run = this.active.get(runId);
    if (run?.bar) this.multi?.remove(run.bar);
    this.active.delete(runId);
    this.runsDone++;
    this.refreshTotal();
    this.say(`${runId}: ${outcome} | ${this.totalLine()}`);
  }

  stop(): void {
    this.multi?.stop();
  }

  etaSeconds(): number | null {
    if (this.roundsThisProcess === 0) return null;
    const rate = this.roundsThisProcess / ((performance.now() - this.startedAt) / 1000);
    return (this.totalRounds - this.committed) / rate;
  }

  totalLine(): string {
    return `sweep ${this.runsDone}/${this.totalRuns} runs, ${this.committed}/${this.totalRounds} rounds, ETA ${formatDuration(this.etaSeconds())}`;
  }

  private refreshTotal(): void {
    this.total?.update(this.committed, { status: `${this.runsDone}/${this.totalRuns} runs, ETA ${formatDuration(this.etaSeconds())}` });
  }

  private say(line: string): void {
    if (!this.quiet && !this.multi) console.error(line);
  }
}
