import { join, resolve } from 'node:path';
import { dpNoiseStd } from '@fedsim/fl/aggregation';
import { clientsPerRound } from '@fedsim/fl/algorithms';
import { maskSecrets } from '@fedsim/runtime/adapters';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { ExperimentConfig, RunSummary } from '@fedsim/runtime';
import type { BackendChoice } from '@fedsim/runtime/wiring';
import { combineObservers, runExperiment, runIdSchema } from '@fedsim/runtime';
import { backendOption, collect, parseOptions, positiveInt, runnerOptionsSchema } from './cli-options.js';
import { loadExperimentFile } from './config-file.js';
import type { CoordinatorEnv } from './env.js';
import { RunInterruptedError, signalExitCode } from './exit-codes.js';
import { QUEUE_BOARD_MODES, coordinatorObservability } from './observability.js';
import { progressObserver } from './progress.js';
import { ResultsFiles } from './results-files.js';
import { dataOf, openRuntime } from './runtime-choice.js';

export interface RunCommandOptions {
  readonly distributed: boolean;
  readonly runId?: string;
  readonly out: string;
  readonly workers?: number;
  readonly backend: BackendChoice;
  readonly set: readonly string[];
  readonly fresh: boolean;
  readonly quiet: boolean;
  readonly json: boolean;
  /** serve /metrics on this port (distributed runs default to FEDSIM_METRICS_PORT or 9464) */
  readonly metricsPort?: string;
  /** Bull Board on the metrics port: 'read-only' or 'read-write' (default: FEDSIM_QUEUE_BOARD, else off) */
  readonly queueBoard?: string;
  /** keep serving /metrics after the run ends, until SIGTERM (for a Kubernetes Deployment) */
  readonly stayUp: boolean;
}

const runOptionsSchema = runnerOptionsSchema.extend({
  runId: runIdSchema.optional(),
  fresh: z.boolean(),
  queueBoard: z.enum(QUEUE_BOARD_MODES).optional(),
  stayUp: z.boolean(),
  json: z.boolean(),
});

export function registerRunCommand(program: Command, env: CoordinatorEnv): void {
  program
    .command('run')
    .description('run an experiment (resumes a run with the same id and config)')
    .argument('<config>', 'experiment config (YAML)')
    .option('--distributed', 'queue jobs on Redis (REDIS_URL) and store blobs in S3 (S3_ENDPOINT, S3_BUCKET, ...)', false)
    .option('--run-id <id>', 'run id (default: the config name)')
    .option('--out <dir>', 'where runs/<run-id>/ (results, and the embedded store) go', '.')
    .option('--workers <n>', 'embedded: compute threads (default: min(cores, 2))', positiveInt)
    .addOption(backendOption(env))
    .option('--set <path=value>', 'override a config field, e.g. --set rounds=3 (repeatable)', collect, [])
    .option('--fresh', 'refuse to resume an existing run with this id', false)
    .option('--metrics-port <port>', 'serve /metrics, /healthz, /readyz here (default for --distributed: FEDSIM_METRICS_PORT or 9464)')
    .option('--stay-up', 'after the run, keep serving metrics until SIGTERM (Kubernetes Deployments)', false)
    .addOption(
      new Option('--queue-board [mode]', 'with --distributed: Bull Board at /queues on the metrics port (default: FEDSIM_QUEUE_BOARD, else off)')
        .choices(QUEUE_BOARD_MODES)
        .preset('read-only'),
    )
    .option('--quiet', 'no progress output', false)
    .option('--json', 'print the summary as JSON', false)
    .action(async (config: string, raw: unknown) => {
      const o = parseOptions(runOptionsSchema, raw, 'run');
      const summary = await runCommand(config, o, env);
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else printSummary(summary, o.out);
    });
}

function printSummary(summary: RunSummary, out: string): void {
  const best = summary.bestPersonalized;
  console.log(`run ${summary.runId} (${summary.algorithm}, ${summary.rounds} rounds) done`);
  if (best) console.log(`best pooled personalized accuracy: ${(100 * best.accuracy).toFixed(2)}% after round ${best.round}`);
  for (const [name, s] of Object.entries(summary.final?.results ?? {})) {
    console.log(
      `final ${name}: pooled ${(100 * s.pooledAccuracy).toFixed(2)}%, per client ${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}% ` +
        `(min ${(100 * s.min).toFixed(2)}, max ${(100 * s.max).toFixed(2)}), loss ${s.pooledLoss.toFixed(4)}`,
    );
  }
  const failed = Object.entries(summary.failures).filter(([, n]) => n > 0);
  if (failed.length) console.log(`client failures: ${failed.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  console.log(`final model ${summary.finalModelKey} sha256 ${summary.finalModelSha256}`);
  console.log(`results: ${out}/runs/${summary.runId}/{results.jsonl,results.csv,summary.json}`);
}

/** `fedsim run`: one experiment, embedded (default) or on Redis + S3 with separate workers. */
export async function runCommand(configPath: string, opts: RunCommandOptions, env: CoordinatorEnv): Promise<RunSummary> {
  return runConfig(await loadExperimentFile(configPath, opts.set), opts, env);
}

export async function runConfig(config: ExperimentConfig, opts: Omit<RunCommandOptions, 'set'>, env: CoordinatorEnv): Promise<RunSummary> {
  const runId = opts.runId ?? config.name;
  const outDir = resolve(opts.out);
  const log = (m: string) => {
    if (!opts.quiet) console.error(maskSecrets(m));
  };
  const observability = coordinatorObservability({
    config,
    env: env.raw,
    distributed: opts.distributed,
    ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
    ...(opts.queueBoard !== undefined ? { queueBoard: opts.queueBoard } : {}),
    log,
  });
  const data = dataOf(env);
  const runtime = await openRuntime(opts, env, observability.instrument);
  log(runtime.description);
  const dp = config.aggregation?.dp;
  if (dp) {
    const n = clientsPerRound(config.partition.numClients, config.joinRatio);
    log(`central DP: Gaussian noise σ = ${dpNoiseStd(config.aggregation, n).toPrecision(3)} per coordinate of the mean update `
      + `(noiseMultiplier ${dp.noiseMultiplier} × clipNorm ${dp.clipNorm} / ${n} clients per round; larger in a round with failed clients)`);
  }
  const server = await observability.serve(runtime.transport, async () => true).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  const results = new ResultsFiles(join(outDir, 'runs', runId), runId, opts.distributed ? runtime.store : null);
  const progress = progressObserver({ quiet: opts.quiet, onRow: (row) => results.append(row) });
  let interruptedBy: NodeJS.Signals | undefined;
  const stopSignals = (signal: NodeJS.Signals) => {
    interruptedBy = signal;
    progress.stop();
    console.error('interrupted: committed rounds are kept; run the same command again to resume');
    void runtime.close().finally(() => process.exit(signalExitCode(signal)));
  };
  process.once('SIGINT', stopSignals);
  process.once('SIGTERM', stopSignals);
  try {
    const summary = await runExperiment(config, {
      runId,
      store: runtime.store,
      transport: runtime.transport,
      existing: opts.fresh ? 'fresh' : 'resume',
      data,
      observer: combineObservers(
        {
          async onStart(info) {
            await results.start(config, info.resumedFrom, info.committed);
          },
        },
        progress,
        observability.observer,
      ),
    });
    progress.stop();
    await results.finish(summary);
    if (opts.stayUp && server) {
      process.off('SIGINT', stopSignals);
      process.off('SIGTERM', stopSignals);
      log(`run finished; serving ${server.url}/metrics until SIGTERM (--stay-up)`);
      await new Promise<void>((done) => process.once('SIGTERM', () => done()));
    }
    return summary;
  } catch (err) {
    // Closing the runtime fails the flow in progress; the signal is the reason, not that failure.
    throw interruptedBy ? new RunInterruptedError(interruptedBy) : err;
  } finally {
    process.off('SIGINT', stopSignals);
    process.off('SIGTERM', stopSignals);
    await server?.close();
    await runtime.close();
  }
}
