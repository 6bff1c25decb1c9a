import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BlobStore } from '@fedsim/runtime';
import { createBlobStore, s3EnvOf } from '@fedsim/runtime/wiring';
import { backendOption, positiveInt } from '../cli-options.js';
import type { CoordinatorEnv } from '../env.js';
import { collectReportInput } from '../report/collect.js';
import { referenceTableSchema } from '../report/reference.js';
import { writeReport } from '../report/write-report.js';
import { loadSweepFile } from './sweep-file.js';
import { runSweep } from './sweep-run.js';
import { cancel, collectStatus, formatStatus } from './status.js';

/** The run store `status`, `cancel` and `report` read: the --out directory, or S3 (S3_*) with --distributed. */
export async function openStore(o: { distributed: boolean; out: string }, env: CoordinatorEnv): Promise<BlobStore & { close?(): void }> {
  const store = o.distributed ? await createBlobStore({ kind: 's3', env: s3EnvOf(env.raw) }) : await createBlobStore({ kind: 'dir', root: resolve(o.out) });
  await store.check();
  return store;
}

async function withStore<T>(o: { distributed: boolean; out: string }, env: CoordinatorEnv, work: (store: BlobStore) => Promise<T>): Promise<T> {
  const store = await openStore(o, env);
  try {
    return await work(store);
  } finally {
    store.close?.();
  }
}

/** `fedsim report <sweep|run>`: HTML + markdown + CSV under <out>/reports/<id>/. */
export async function reportCommand(id: string, o: { distributed: boolean; out: string }, env: CoordinatorEnv): Promise<string[]> {
  return withStore(o, env, async (store) => {
    const input = await collectReportInput(store, id);
    const table = input.referenceTable === null ? null : referenceTableSchema.parse(input.referenceTable);
    const written = await writeReport(join(resolve(o.out), 'reports', id), input, table, `npm run fedsim -- report ${id}`);
    return [...written.files];
  });
}

const storeOptions = (c: Command) =>
  c
    .option('--distributed', 'the run store is S3 (S3_ENDPOINT, S3_BUCKET, ...), not --out', false)
    .option('--out <dir>', 'the directory holding runs/ and sweeps/ (embedded runs)', '.');

/** sweep plan/run, report, status, cancel. */
export function registerSweepCommands(program: Command, env: CoordinatorEnv): void {
  const sweep = program.command('sweep').description('experiment grids: many runs from one YAML file (configs/sweeps/)');
  sweep
    .command('plan')
    .description('validate every run of a sweep and list them with their ids')
    .argument('<file>', 'sweep file (YAML)')
    .option('--json', 'print the expanded configs as JSON', false)
    .action(async (file: string, o: { json: boolean }) => {
      const plan = await loadSweepFile(file);
      if (o.json) {
        console.log(JSON.stringify(plan, null, 2));
        return;
      }
      console.log(`sweep ${plan.name}: ${plan.runs.length} runs over ${plan.axisPaths.join(', ')}; ${plan.concurrency} at a time`);
      if (plan.reference) console.log(`reference table: ${plan.reference}`);
      for (const r of plan.runs) {
        const values = Object.entries(r.values).map(([p, v]) => `${p}=${JSON.stringify(v)}`).join(' ');
        console.log(`  ${r.runId.padEnd(48)} ${values}`);
      }
    });
  sweep
    .command('run')
    .description('run a sweep (resumes: finished runs are skipped, interrupted ones continue at their first uncommitted round)')
    .argument('<file>', 'sweep file (YAML)')
    .option('--distributed', 'queue jobs on Redis (REDIS_URL) and store in S3 (S3_*)', false)
    .option('--out <dir>', 'where runs/, sweeps/ and reports/ go', '.')
    .option('--concurrency <n>', 'runs in flight at once (default: the file\'s concurrency)', positiveInt)
    .option('--priority <n>', 'distributed: BullMQ priority of the sweep\'s jobs, 1 (highest) … 2097152; single runs have none and go first', positiveInt)
    .option('--workers <n>', 'embedded: compute threads shared by all runs (default: min(cores, 2))', positiveInt)
    .addOption(backendOption(env))
    .option('--no-report', 'do not write the report at the end')
    .option('--quiet', 'no progress output', false)
    .action(async (file: string, o) => {
      const plan = await loadSweepFile(file);
      const outcome = await runSweep(plan, o, env);
      const count = (k: string) => outcome.runs.filter((r) => r.outcome === k).length;
      console.log(`sweep ${plan.name}: ${count('done')} done, ${count('skipped')} already finished, ${count('failed')} failed, ${count('cancelled')} cancelled`);
      for (const r of outcome.runs) if (r.outcome === 'failed') console.log(`  FAILED ${r.runId}: ${r.error?.split('\n')[0]}`);
      if (o.report) console.log(`report:\n  ${(await reportCommand(plan.name, o, env)).filter((f) => /report\.(html|md)$/.test(f)).join('\n  ')}`);
      if (count('failed')) process.exitCode = 1;
    });

  storeOptions(program.command('report').description('HTML + markdown + CSV report of a sweep (over seeds) or of one run').argument('<id>', 'sweep or run id')).action(
    async (id: string, o: { distributed: boolean; out: string }) => {
      console.log(`wrote:\n  ${(await reportCommand(id, o, env)).join('\n  ')}`);
    },
  );
  storeOptions(program.command('status').description('sweeps and their runs: state, round, best accuracy, failures, ETA')).action(
    async (o: { distributed: boolean; out: string }) => {
      console.log(formatStatus(await withStore(o, env, (store) => collectStatus(store))));
    },
  );
  storeOptions(program.command('cancel').description('stop a sweep or run cleanly after its current round (resumable)').argument('<id>', 'sweep or run id')).action(
    async (id: string, o: { distributed: boolean; out: string }) => {
      console.log(await withStore(o, env, (store) => cancel(store, id)));
    },
  );
}
