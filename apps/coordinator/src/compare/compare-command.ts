import { join, resolve } from 'node:path';
import type { RunCommandOptions } from '../run-command.js';
import { runConfig } from '../run-command.js';
import { loadComparison } from './comparison-file.js';
import type { MethodResult } from './report.js';
import { readRunResults, writeComparisonReport } from './report.js';

/**
 * `fedsim compare`: runs every method of a comparison file in turn (each an ordinary, resumable
 * run), then writes the table and plots. Re-running after an interruption resumes where it stopped.
 */
export async function compareCommand(
  path: string,
  opts: RunCommandOptions & { only?: string[]; reportOnly: boolean },
): Promise<string[]> {
  const plan = await loadComparison(path, opts.set);
  const outDir = resolve(opts.out);
  const selected = plan.runs.filter((r) => !opts.only || opts.only.includes(r.label));
  const results: MethodResult[] = [];
  for (const run of selected) {
    if (!opts.reportOnly) {
      if (!opts.quiet) console.error(`\n=== ${run.label} (${selected.indexOf(run) + 1}/${selected.length}) ===`);
      await runConfig(run.config, { ...opts, runId: run.runId });
    }
    results.push(await readRunResults(join(outDir, 'runs', run.runId), run.label));
  }
  const command = `npm run fedsim -- compare ${path}${opts.set.map((s) => ` --set ${s}`).join('')}`;
  return writeComparisonReport(join(outDir, 'comparisons', plan.name), plan.name, results, command);
}
