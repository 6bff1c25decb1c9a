import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, RoundRow, RunSummary } from '@fedsim/runtime';
import { CSV_HEADER, csvLine } from '@fedsim/runtime';

/**
 * A run's results on the coordinator's disk (results.jsonl, results.csv, summary.json), and,
 * when the store is remote, a copy in the store beside the run's models.
 */
export class ResultsFiles {
  private rows: RoundRow[] = [];

  constructor(
    readonly dir: string,
    private readonly runId: string,
    private readonly mirror: BlobStore | null,
  ) {}

  /**
   * `resumedFrom` is the first round this process runs, or null for a new run. A resumed run
   * keeps the rows of the rounds before it, so the files (and the store's copy, which the
   * process rewrites whole) hold every round, not only this process's. `committed` are the
   * engine's rows of the rounds already committed.
   */
  async start(config: unknown, resumedFrom: number | null, committed: readonly RoundRow[] = []): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'config.resolved.json'), `${JSON.stringify(config, null, 2)}\n`);
    const earlier = resumedFrom === null ? [] : await this.earlierRows();
    // Rows written by earlier processes win (they carry wall times); rounds committed while no
    // coordinator ran, or whose row was lost with a killed process, get the row rebuilt from the store.
    const byRound = new Map(committed.map((r) => [r.round, r]));
    for (const r of earlier) byRound.set(r.round, r);
    this.rows = [...byRound.values()].filter((r) => resumedFrom !== null && r.round < resumedFrom).sort((a, b) => a.round - b.round);
    await writeFile(join(this.dir, 'results.jsonl'), this.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await writeFile(join(this.dir, 'results.csv'), [CSV_HEADER.join(','), ...this.rows.map(csvLine)].map((l) => `${l}\n`).join(''));
  }

  async append(row: RoundRow): Promise<void> {
    this.rows.push(row);
    await appendFile(join(this.dir, 'results.jsonl'), `${JSON.stringify(row)}\n`);
    await appendFile(join(this.dir, 'results.csv'), `${csvLine(row)}\n`);
    await this.mirrorFile('results.jsonl', this.rows.map((r) => JSON.stringify(r)).join('\n'));
  }

  async finish(summary: RunSummary): Promise<void> {
    const text = `${JSON.stringify(summary, null, 2)}\n`;
    await writeFile(join(this.dir, 'summary.json'), text);
    await this.mirrorFile('summary.json', text);
  }

  /**
   * Rows an earlier process wrote: the store's copy when there is one (a distributed coordinator
   * may resume on another machine), else the local file.
   */
  private async earlierRows(): Promise<RoundRow[]> {
    const key = this.mirrorKey('results.jsonl');
    let text: string | undefined;
    if (this.mirror && (await this.mirror.exists(key))) text = Buffer.from(await this.mirror.get(key)).toString('utf8');
    else text = await readFile(join(this.dir, 'results.jsonl'), 'utf8').catch(() => undefined);
    const byRound = new Map<number, RoundRow>();
    for (const line of (text ?? '').split('\n')) {
      const row = parseRow(line);
      if (row) byRound.set(row.round, row);
    }
    return [...byRound.values()].sort((a, b) => a.round - b.round);
  }

  private mirrorKey(name: string): string {
    return `runs/${this.runId}/results/${name}`;
  }

  private async mirrorFile(name: string, text: string): Promise<void> {
    if (this.mirror) await this.mirror.put(this.mirrorKey(name), Buffer.from(text));
  }
}

/** A line of results.jsonl; null for a blank line or one cut short by a killed process. */
function parseRow(line: string): RoundRow | null {
  if (!line.trim()) return null;
  try {
    const row = JSON.parse(line) as RoundRow;
    return Number.isInteger(row.round) ? row : null;
  } catch {
    return null;
  }
}
