import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExperimentConfig, RunSummary } from '@fedsim/runtime';
import type { BackendChoice, Runtime } from '@fedsim/runtime/wiring/index';
import { combineObservers, runExperiment } from '@fedsim/runtime';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring/index';
import { loadExperimentFile } from './config-file.js';
import { coordinatorObservability } from './observability.js';
import { progressObserver } from './progress.js';
import { ResultsFiles } from './results-files.js';

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
  /** keep serving /metrics after the run ends, until SIGTERM (for a Kubernetes Deployment) */
  readonly stayUp: boolean;
}

/** `fedsim run`: one experiment, embedded (default) or on Redis + S3 with separate workers. */
export async function runCommand(configPath: string, opts: RunCommandOptions): Promise<RunSummary> {
  return runConfig(await loadExperimentFile(configPath, opts.set), opts);
}

export async function runConfig(config: ExperimentConfig, opts: Omit<RunCommandOptions, 'set'>): Promise<RunSummary> {
  const runId = opts.runId ?? config.name;
  const outDir = resolve(opts.out);
  const log = (m: string) => {
    if (!opts.quiet) console.error(m);
  };
  const observability = coordinatorObservability({
    config,
    distributed: opts.distributed,
    ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
    log,
  });
  const runtime: Runtime = opts.distributed
    ? await distributedRuntime(process.env)
    : await embeddedRuntime({
        root: outDir,
        workers: opts.workers ?? Math.max(1, Math.min(cpus().length, 2)),
        backend: opts.backend,
        ...(process.env['FEDSIM_DATA_DIR'] ? { dataDir: process.env['FEDSIM_DATA_DIR'] } : {}),
        instrument: observability.instrument,
      });
  log(runtime.description);
  const server = await observability.serve(runtime.transport, async () => true).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  const results = new ResultsFiles(join(outDir, 'runs', runId), runId, opts.distributed ? runtime.store : null);
  const progress = progressObserver({ quiet: opts.quiet, onRow: (row) => results.append(row) });
  const stopSignals = () => {
    progress.stop();
    console.error('interrupted: committed rounds are kept; run the same command again to resume');
    void runtime.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopSignals);
  process.once('SIGTERM', stopSignals);
  try {
    const summary = await runExperiment(config, {
      runId,
      store: runtime.store,
      transport: runtime.transport,
      existing: opts.fresh ? 'fresh' : 'resume',
      observer: combineObservers(
        {
          async onStart(info) {
            await results.start(config, info.resumedFrom);
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
  } finally {
    process.off('SIGINT', stopSignals);
    process.off('SIGTERM', stopSignals);
    await server?.close();
    await runtime.close();
  }
}
