import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, RoundRow, RunSummary } from '@fedsim/runtime';
import { CSV_HEADER, csvLine } from '@fedsim/runtime';

/**
 * A run's results on the coordinator's disk (results.jsonl, results.csv, summary.json), and,
 * when the store is remote, a copy in the store beside the run's models.
 */
export class ResultsFiles {
  private readonly rows: RoundRow[] = [];

  constructor(
    readonly dir: string,
    private readonly runId: string,
    private readonly mirror: BlobStore | null,
  ) {}

  async start(config: unknown, resumed: boolean): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'config.resolved.json'), `${JSON.stringify(config, null, 2)}\n`);
    if (!resumed) {
      await writeFile(join(this.dir, 'results.jsonl'), '');
      await writeFile(join(this.dir, 'results.csv'), `${CSV_HEADER.join(',')}\n`);
    }
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

  private async mirrorFile(name: string, text: string): Promise<void> {
    if (this.mirror) await this.mirror.put(`runs/${this.runId}/results/${name}`, Buffer.from(text));
  }
}
