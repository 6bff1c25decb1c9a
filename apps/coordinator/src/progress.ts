import cliProgress from 'cli-progress';
import type { RoundRow, RunObserver } from '@fedsim/runtime';

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(2)}%`);

export function formatRow(row: RoundRow): string {
  const parts = [
    `round ${row.round}`,
    `${row.succeeded}/${row.clients} clients`,
    `loss ${row.trainLoss?.toFixed(4) ?? '–'}`,
    `${row.wallSeconds.toFixed(1)}s`,
  ];
  if (row.failed) parts.push(`${row.failed} failed`);
  if (row.virtual) {
    parts.push(`virtual ${(row.virtual.endSeconds - row.virtual.startSeconds).toFixed(1)}s (clock ${row.virtual.endSeconds.toFixed(1)}s)`);
    if (row.virtual.dropped.length > 0) parts.push(`${row.virtual.dropped.length} dropped`);
  }
  for (const [name, s] of Object.entries(row.evaluation ?? {})) {
    parts.push(`${name} acc ${pct(s.pooledAccuracy)} (mean ${pct(s.mean)} ± ${pct(s.std)})`);
  }
  return parts.join(' | ');
}

/** A progress bar on a terminal; plain log lines otherwise (CI, files). */
export function progressObserver(opts: { quiet: boolean; onRow: (row: RoundRow) => Promise<void> }): RunObserver & {
  stop(): void;
} {
  const tty = process.stderr.isTTY && !opts.quiet;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: 'rounds {bar} {value}/{total} | {status}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const say = (line: string) => {
    if (opts.quiet) return;
    if (bar) bar.update({ status: line });
    else console.error(line);
  };
  return {
    onStart(info) {
      const resumed = info.resumedFrom !== null ? `, resuming at round ${info.resumedFrom}` : '';
      if (!opts.quiet) {
        console.error(`run ${info.runId}: ${info.numClients} clients, ${info.perRound} per round, ${info.rounds} rounds${resumed}`);
      }
      bar?.start(info.rounds, info.resumedFrom ?? 0, { status: 'starting' });
    },
    onRoundStart(round, clients) {
      say(`round ${round}: training ${clients.length} clients`);
    },
    onEvalStart(round, clients) {
      say(`evaluating ${clients} clients on the model after round ${round - 1}`);
    },
    async onRound(row) {
      await opts.onRow(row);
      if (bar) {
        bar.increment(1, { status: formatRow(row) });
        if (row.evaluation) {
          bar.stop();
          console.error(formatRow(row));
          bar.start(bar.getTotal(), row.round + 1, { status: '' });
        }
      } else if (!opts.quiet) console.error(formatRow(row));
    },
    log(message) {
      say(message);
    },
    stop() {
      bar?.stop();
    },
  };
}
