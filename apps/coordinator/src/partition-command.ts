import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { BlobStore } from '@fedsim/runtime';
import { keys, RunFailedError } from '@fedsim/runtime';
import { decodePartition } from '@fedsim/fl/data';
import { formatSplitFile, indicesFileOf, labelCountsFileOf, loadDataset } from '@fedsim/runtime/data';
import { parseRunRecord } from '@fedsim/runtime/engine';
import { LocalDirBlobStore, S3BlobStore } from '@fedsim/runtime/adapters';
import type { CoordinatorEnv } from './env.js';

export const EXPORT_FORMATS = ['indices', 'label-counts'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * A stored run's split as a file another run (fedsim's `partition.kind: indices | label-counts`)
 * or another framework can read. Read from the run's partition manifest, not redrawn.
 */
export async function exportPartition(store: BlobStore, runId: string, format: ExportFormat): Promise<string> {
  const recordKey = keys.run(runId);
  if (!(await store.exists(recordKey))) {
    throw new RunFailedError(`no run '${runId}' in ${store.describe()}; give the --out (or --distributed) the run was started with`);
  }
  const { config } = parseRunRecord(await store.get(recordKey), recordKey);
  const { partition } = decodePartition(await store.get(keys.partition(runId)));
  const dataset = await loadDataset(config.data);
  return format === 'indices'
    ? formatSplitFile(indicesFileOf(partition, dataset.numSamples), 'clients')
    : formatSplitFile(labelCountsFileOf(partition, dataset.labels, dataset.numClasses), 'clients');
}

/** `fedsim partition export <run>`. */
export function registerPartitionCommands(program: Command, env: CoordinatorEnv): void {
  program
    .command('partition')
    .description("a run's client split")
    .command('export')
    .description("write a run's split as an indices or label-counts file (docs/reproduce.md)")
    .argument('<run>', 'run id')
    .addOption(new Option('--format <format>', 'file layout').choices(EXPORT_FORMATS).default('indices'))
    .option('--out <dir>', 'where runs/<run-id>/ is (as given to `fedsim run --out`)', '.')
    .option('--distributed', 'read the run from S3 (S3_ENDPOINT, S3_BUCKET, ...)', false)
    .option('--to <file>', 'write here instead of standard output')
    .action(async (runId: string, o: { format: ExportFormat; out: string; distributed: boolean; to?: string }) => {
      const s3 = o.distributed ? S3BlobStore.fromEnv(env.raw) : null;
      const store = s3 ?? new LocalDirBlobStore(resolve(o.out));
      try {
        const text = await exportPartition(store, runId, o.format);
        if (o.to === undefined) process.stdout.write(text);
        else {
          await writeFile(o.to, text);
          console.error(`wrote ${o.format} file ${o.to}`);
        }
      } finally {
        s3?.close();
      }
    });
}
