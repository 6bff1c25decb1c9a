import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { GcResult } from '@fedsim/runtime';
import { collectGarbage } from '@fedsim/runtime';
import { LocalDirBlobStore, S3BlobStore } from '@fedsim/runtime/adapters';
import type { CoordinatorEnv } from './env.js';

const parseKeep = (value: string): number | 'all' => {
  if (value === 'all') return 'all';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive integer or 'all'`);
  return n;
};

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** What `fedsim gc` prints: per kind, then the total (every key with --list). */
export function formatGcResult(r: GcResult, list: boolean): string {
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [`run ${r.runId}: committed through round ${r.committedThrough}`];
  const byKind = new Map<string, { count: number; bytes: number }>();
  for (const d of r.deleted) {
    const k = byKind.get(d.kind) ?? { count: 0, bytes: 0 };
    byKind.set(d.kind, { count: k.count + 1, bytes: k.bytes + d.bytes });
  }
  for (const [kind, k] of [...byKind].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`  ${verb} ${k.count} ${kind} (${mib(k.bytes)})`);
  if (list) for (const d of r.deleted) lines.push(`    ${d.key} ${d.bytes}`);
  lines.push(`${verb} ${r.deleted.length} blobs, ${r.dryRun ? 'would free' : 'freed'} ${r.bytesFreed} bytes (${mib(r.bytesFreed)}); kept ${r.kept.count} (${mib(r.kept.bytes)})`);
  return `${lines.join('\n')}\n`;
}

/** `fedsim gc <run>`: deletes a run's superseded blobs (docs/scale.md, "Garbage collection"). */
export function registerGcCommand(program: Command, env: CoordinatorEnv): void {
  program
    .command('gc')
    .description("delete a run's superseded blobs: old updates, partials, instructions, replaced client state, old global models")
    .argument('<run>', 'run id')
    .option('--out <dir>', 'where runs/<run-id>/ is (as given to `fedsim run --out`)', '.')
    .option('--distributed', 'the run is in S3 (S3_ENDPOINT, S3_BUCKET, ...)', false)
    .option('--keep-global-models <n>', "newest global models to keep, or 'all' (default: the run's storage.keepGlobalModels)", parseKeep)
    .option('--dry-run', 'print what would be deleted, delete nothing', false)
    .option('--list', 'print every deleted key', false)
    .action(async (runId: string, o: { out: string; distributed: boolean; keepGlobalModels?: number | 'all'; dryRun: boolean; list: boolean }) => {
      const s3 = o.distributed ? S3BlobStore.fromEnv(env.raw) : null;
      const store = s3 ?? new LocalDirBlobStore(resolve(o.out));
      try {
        const result = await collectGarbage(store, runId, {
          dryRun: o.dryRun,
          ...(o.keepGlobalModels !== undefined ? { keepGlobalModels: o.keepGlobalModels } : {}),
        });
        process.stdout.write(formatGcResult(result, o.list));
      } finally {
        s3?.close();
      }
    });
}
