#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, RunFailedError } from '@fedsim/runtime';
import { backendChoiceSchema } from '@fedsim/runtime/wiring/index';
import { loadExperimentFile } from './config-file.js';
import { runCommand } from './run-command.js';
import { compareCommand } from './compare/compare-command.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const collect = (v: string, acc: string[]) => [...acc, v];

const program = new Command()
  .name('fedsim')
  .description('Personalized federated-learning simulations: embedded on one machine, or on Redis + S3 workers');

program
  .command('run')
  .description('run an experiment (resumes a run with the same id and config)')
  .argument('<config>', 'experiment config (YAML)')
  .option('--distributed', 'queue jobs on Redis (REDIS_URL) and store blobs in S3 (S3_ENDPOINT, S3_BUCKET, ...)', false)
  .option('--run-id <id>', 'run id (default: the config name)')
  .option('--out <dir>', 'where runs/<run-id>/ (results, and the embedded store) go', '.')
  .option('--workers <n>', 'embedded: compute threads (default: min(cores, 2))', positiveInt)
  .addOption(
    new Option('--backend <name>', 'compute backend').choices(backendChoiceSchema.options).default(process.env['FEDSIM_BACKEND'] ?? 'auto'),
  )
  .option('--set <path=value>', 'override a config field, e.g. --set rounds=3 (repeatable)', collect, [])
  .option('--fresh', 'refuse to resume an existing run with this id', false)
  .option('--metrics-port <port>', 'serve /metrics, /healthz, /readyz here (default for --distributed: FEDSIM_METRICS_PORT or 9464)')
  .option('--stay-up', 'after the run, keep serving metrics until SIGTERM (Kubernetes Deployments)', false)
  .option('--quiet', 'no progress output', false)
  .option('--json', 'print the summary as JSON', false)
  .action(async (config: string, o) => {
    const summary = await runCommand(config, o);
    if (o.json) console.log(JSON.stringify(summary, null, 2));
    else {
      const best = summary.bestPersonalized;
      console.log(`run ${summary.runId} (${summary.algorithm}, ${summary.rounds} rounds) done`);
      if (best) console.log(`best pooled personalized accuracy: ${(100 * best.accuracy).toFixed(2)}% after round ${best.round}`);
      for (const [name, s] of Object.entries(summary.final?.results ?? {})) {
        console.log(
          `final ${name}: pooled ${(100 * s.pooledAccuracy).toFixed(2)}%, per client ${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}% ` +
            `(min ${(100 * s.min).toFixed(2)}, max ${(100 * s.max).toFixed(2)}), loss ${s.pooledLoss.toFixed(4)}`,
        );
      }
      console.log(`final model ${summary.finalModelKey} sha256 ${summary.finalModelSha256}`);
      console.log(`results: ${o.out}/runs/${summary.runId}/{results.jsonl,results.csv,summary.json}`);
    }
  });

program
  .command('compare')
  .description('run one base experiment with several methods, then write a comparison table and plots')
  .argument('<comparison>', 'comparison file (YAML: name, base, methods)')
  .option('--distributed', 'run on Redis + S3 workers', false)
  .option('--out <dir>', 'where runs/ and comparisons/<name>/ go', '.')
  .option('--workers <n>', 'embedded: compute threads', positiveInt)
  .addOption(new Option('--backend <name>', 'compute backend').choices(backendChoiceSchema.options).default(process.env['FEDSIM_BACKEND'] ?? 'auto'))
  .option('--set <path=value>', 'override a field of every method, e.g. --set rounds=20 (repeatable)', collect, [])
  .option('--only <labels>', 'comma-separated method labels to run/report', (v: string) => v.split(','))
  .option('--report-only', 'do not run; rebuild the table and plots from finished runs', false)
  .option('--metrics-port <port>', 'serve /metrics while running')
  .option('--quiet', 'no progress output', false)
  .action(async (file: string, o) => {
    const written = await compareCommand(file, { ...o, fresh: false, json: false, stayUp: false });
    console.log(`wrote:\n  ${written.join('\n  ')}`);
  });

program
  .command('validate')
  .description('check a config and print it with every default filled in')
  .argument('<config>', 'experiment config (YAML)')
  .option('--set <path=value>', 'override a config field (repeatable)', collect, [])
  .action(async (config: string, o: { set: string[] }) => {
    console.log(JSON.stringify(await loadExperimentFile(config, o.set), null, 2));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  // Operational errors carry actionable messages; the stack helps only when debugging fedsim itself.
  const debug = Boolean(process.env['FEDSIM_DEBUG']) && !(err instanceof ConfigError || err instanceof RunFailedError);
  console.error(`fedsim: ${err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err)}`);
  if (!debug && err instanceof Error && !(err instanceof ConfigError || err instanceof RunFailedError)) {
    console.error('(set FEDSIM_DEBUG=1 for the stack trace)');
  }
  process.exit(1);
});
