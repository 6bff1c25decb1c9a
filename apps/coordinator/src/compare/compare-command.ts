import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { backendOption, collect, parseOptions, positiveInt, runnerOptionsSchema } from '../cli-options.js';
import type { CoordinatorEnv } from '../env.js';
import type { RunCommandOptions } from '../run-command.js';
import { runConfig } from '../run-command.js';
import { loadComparison } from './comparison-file.js';
import type { MethodResult } from './report.js';
import { readRunResults, writeComparisonReport } from './report.js';

/**
 * `fedsim compare`: runs every method of a comparison file in turn (each an ordinary, resumable
 * run), then writes the table and plots. Re-running after an interruption resumes where it stopped.
 */
const compareOptionsSchema = runnerOptionsSchema.extend({
  only: z.array(z.string().min(1)).optional(),
  reportOnly: z.boolean(),
});

export function registerCompareCommand(program: Command, env: CoordinatorEnv): void {
  program
    .command('compare')
    .description('run one base experiment with several methods, then write a comparison table and plots')
    .argument('<comparison>', 'comparison file (YAML: name, base, methods)')
    .option('--distributed', 'run on Redis + S3 workers', false)
    .option('--out <dir>', 'where runs/ and comparisons/<name>/ go', '.')
    .option('--workers <n>', 'embedded: compute threads', positiveInt)
    .addOption(backendOption(env))
    .option('--set <path=value>', 'override a field of every method, e.g. --set rounds=20 (repeatable)', collect, [])
    .option('--only <labels>', 'comma-separated method labels to run/report', (v: string) => v.split(','))
    .option('--report-only', 'do not run; rebuild the table and plots from finished runs', false)
    .option('--metrics-port <port>', 'serve /metrics while running')
    .option('--quiet', 'no progress output', false)
    .action(async (file: string, raw: unknown) => {
      const o = parseOptions(compareOptionsSchema, raw, 'compare');
      const written = await compareCommand(file, { ...o, fresh: false, json: false, stayUp: false }, env);
      console.log(`wrote:\n  ${written.join('\n  ')}`);
    });
}

export async function compareCommand(
  path: string,
  opts: RunCommandOptions & { only?: string[]; reportOnly: boolean },
  env: CoordinatorEnv,
): Promise<string[]> {
  const plan = await loadComparison(path, opts.set);
  const outDir = resolve(opts.out);
  const selected = plan.runs.filter((r) => !opts.only || opts.only.includes(r.label));
  const results: MethodResult[] = [];
  for (const run of selected) {
    if (!opts.reportOnly) {
      if (!opts.quiet) console.error(`\n=== ${run.label} (${selected.indexOf(run) + 1}/${selected.length}) ===`);
      await runConfig(run.config, { ...opts, runId: run.runId }, env);
    }
    results.push(await readRunResults(join(outDir, 'runs', run.runId), run.label));
  }
  const command = `npm run fedsim -- compare ${path}${opts.set.map((s) => ` --set ${s}`).join('')}`;
  return writeComparisonReport(join(outDir, 'comparisons', plan.name), plan.name, results, command);
}
