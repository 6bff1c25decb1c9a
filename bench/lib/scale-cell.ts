import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { BlobStore, ExperimentConfig, FlowChild, FlowSpec, FlowTransport, RoundRow } from '@fedsim/runtime';
import { commitRecordSchema, createJobHandlers, keys, parseExperiment, RunContextCache, runExperiment } from '@fedsim/runtime';
import { decodeJson } from '@fedsim/runtime/engine';
import { distributedRuntime, embeddedRuntime, type Runtime } from '@fedsim/runtime/wiring';
import { computeBackendName, initCompute } from '@fedsim/fl/compute';
import { startRedis, startS3 } from '../../test/harness/index.js';
import { spawnWorker, waitUntilServing, type WorkerProcess } from '../../test/integration/workers.js';
import { startCountingProxy, type ByteCounts } from './counting-proxy.js';
import { MemoryBlobStore } from './memory-store.js';

export type Mode = 'embedded' | 'distributed';

export interface CellSpec {
  readonly mode: Mode;
  /** registered clients */
  readonly numClients: number;
  /** sampled per round */
  readonly perRound: number;
  /** compute threads (embedded) or worker processes of one thread (distributed) */
  readonly slots: number;
  /** the experiment's cohortSize; the engine's default when absent */
  readonly cohortSize?: number | 'auto';
  /** the experiment's reduceFanIn; the engine's default when absent */
  readonly reduceFanIn?: number | 'auto';
  /** evaluate all N clients after the measured round (timed apart from it) */
  readonly evaluate?: boolean;
}

/** One measured (warm) round of one cell. Seconds unless named otherwise. */
export interface CellResult extends CellSpec {
  readonly succeeded: number;
  readonly wall: number;
  /** the round's flow (train jobs + aggregation), as the coordinator waited for it */
  readonly flow: number;
  /** the clients' job times summed (training plus each job's blob traffic), as the workers report them */
  readonly jobSeconds: number;
  readonly aggregation: number;
  /** the round's train jobs run again one after another in one process, no queue and no blob store; per client */
  readonly pureTrainPerClient: number;
  /** the same, process CPU seconds per client */
  readonly pureTrainCpuPerClient: number;
  /** CPU seconds the coordinator and worker processes spent in the measured round (not Redis or the S3 server) */
  readonly roundCpu: number;
  /** the evaluation of all N clients after the measured round (not in `wall`) */
  readonly evaluation: number;
  readonly evalJobs: number;
  readonly coordinatorPeakRssBytes: number;
  /** per worker process; empty when the workers are threads of the coordinator (embedded) */
  readonly workerPeakRssBytes: readonly number[];
  readonly redisUsedMemory: number | null;
  readonly redisPeakMemory: number | null;
  readonly blob: ByteCounts & { readonly source: string };
  readonly coldRoundWall: number;
  /** update and partial blobs read by the aggregation job, and by the most-reading reduce job (tree aggregation) */
  readonly reads: { readonly aggregate: number; readonly maxPerReduceJob: number; readonly reduceJobs: number } | null;
  /** the slowest reduce job; 0 without a tree */
  readonly reduceSeconds: number;
}

const SAMPLES_PER_CLIENT = 30; // with testRatio 0.25: ~22 training samples per client, as in issue 10

/** logreg on 16 features × 4 classes (68 parameters), IID; with `evaluate`, one evaluation of all N clients after round 1. */
export function scaleExperiment(
  numClients: number, perRound: number, cohortSize?: number | 'auto', reduceFanIn?: number | 'auto', evaluate = false,
): ExperimentConfig {
  return parseExperiment({
    name: 'bench-scale',
    seed: 7,
    data: { kind: 'synthetic', numSamples: numClients * SAMPLES_PER_CLIENT, featureShape: [16], numClasses: 4 },
    partition: { kind: 'iid', numClients, testRatio: 0.25 },
    model: 'logreg',
    algorithm: { name: 'fedavg' },
    // The engine evaluates all N clients after the last round: round 1 when evaluating, else
    // round 2, which the cell never reaches (it stops after round 1).
    rounds: evaluate ? 2 : 3,
    joinRatio: perRound / numClients,
    ...(cohortSize !== undefined ? { cohortSize } : {}),
    ...(reduceFanIn !== undefined ? { reduceFanIn } : {}),
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 1000 },
    failures: { attempts: 1, roundDeadlineSeconds: 3600 },
  });
}

class StopAfterMeasuredRound extends Error {}

/** Runs rounds 0 (cold: workers load the run) and 1 (measured) of one cell in this process. */
export async function runCell(spec: CellSpec): Promise<CellResult> {
  const config = scaleExperiment(spec.numClients, spec.perRound, spec.cohortSize, spec.reduceFanIn, spec.evaluate);
  const env = spec.mode === 'distributed' ? await startEnv(spec.slots) : null;
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-bench-scale-'));
  let runtime: Runtime | null = null;
  try {
    runtime = env
      ? await distributedRuntime({ ...process.env, ...env.vars })
      : await embeddedRuntime({ root: dir, workers: spec.slots, backend: 'auto' });
    // A round's flows, from the first one's start to the last one's end (a tree round runs several).
    let firstFlowStart: number | null = null;
    let flowSeconds = 0;
    // The round's train jobs: the aggregation's children, or with a tree its reduce jobs' children.
    const trainChildren: FlowChild[] = [];
    let evalJobs = 0;
    const transport = timedFlows(runtime.transport, (start, end) => {
      firstFlowStart ??= start;
      flowSeconds = (end - firstFlowStart) / 1000;
    }, (flow) => {
      if (flow.parent.kind === 'evalSummary') evalJobs = flow.children.length;
      else trainChildren.push(...flow.children);
    });
    let evalStarted = 0;
    // CPU seconds of the coordinator (with its compute threads, embedded) and the worker processes.
    const cpuNow = () => cpuSeconds(env ? env.workers.map((w) => w.child.pid!) : []);
    let roundCpu0 = 0;
    let roundCpu = 0;
    const rows: RoundRow[] = [];
    let io = procIo();
    let measured: Omit<CellResult, keyof CellSpec | 'pureTrainPerClient' | 'pureTrainCpuPerClient' | 'coldRoundWall'> | null = null;
    try {
      await runExperiment(config, {
        runId: 'bench-scale',
        store: runtime.store,
        transport,
        observer: {
          onRoundStart() {
            firstFlowStart = null;
            trainChildren.length = 0;
            env?.proxy.take();
            io = procIo();
            roundCpu0 = cpuNow();
          },
          onEvalStart() {
            evalStarted = performance.now();
            roundCpu = cpuNow() - roundCpu0;
          },
          async onRound(row) {
            rows.push(row);
            if (row.round < 1) return;
            const evaluation = evalStarted ? (performance.now() - evalStarted) / 1000 : 0;
            if (!evalStarted) roundCpu = cpuNow() - roundCpu0;
            const blob = env ? { ...env.proxy.take(), source: 'S3 API requests (all processes, round and evaluation)' } : ioSince(io);
            const redis = env ? await redisMemory(env.vars['REDIS_URL']!) : null;
            const commit = commitRecordSchema.parse(decodeJson(await runtime!.store.get(keys.commit('bench-scale', row.round))));
            measured = {
              ...spec,
              succeeded: row.succeeded,
              wall: row.wallSeconds - evaluation,
              flow: flowSeconds,
              evaluation,
              evalJobs,
              roundCpu,
              jobSeconds: row.trainSeconds,
              aggregation: row.aggregateSeconds,
              coordinatorPeakRssBytes: process.resourceUsage().maxRSS * 1024,
              workerPeakRssBytes: env ? env.workers.map((w) => peakRss(w.child.pid!)) : [],
              redisUsedMemory: redis?.used ?? null,
              redisPeakMemory: redis?.peak ?? null,
              blob,
              reads: commit.reads ?? null,
              reduceSeconds: commit.reduceSeconds ?? 0,
            };
            throw new StopAfterMeasuredRound();
          },
        },
      });
    } catch (err) {
      if (!(err instanceof StopAfterMeasuredRound)) throw err;
    }
    if (!measured) throw new Error('the measured round did not complete');
    const pure = await pureTraining(runtime.store, trainChildren, spec.perRound);
    return { ...(measured as object as CellResult), coldRoundWall: rows[0]!.wallSeconds, pureTrainPerClient: pure.wall, pureTrainCpuPerClient: pure.cpu };
  } finally {
    await runtime?.close();
    await env?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Redis + S3 API (behind a byte-counting proxy) + worker processes, like test/integration's distributed env. */
async function startEnv(workerCount: number) {
  const [redis, s3] = await Promise.all([startRedis(), startS3()]);
  const proxy = await startCountingProxy(s3.endpoint);
  const vars: Record<string, string> = {
    REDIS_URL: redis.url,
    FEDSIM_QUEUE_PREFIX: redis.prefix,
    S3_ENDPOINT: proxy.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    FEDSIM_BACKEND: 'auto',
    FEDSIM_WORKER_CONCURRENCY: '1',
    FEDSIM_METRICS_PORT: '0',
  };
  const workers: WorkerProcess[] = Array.from({ length: workerCount }, () => spawnWorker(vars));
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await proxy.close();
    await Promise.all([redis.stop(), s3.stop()]);
  };
  try {
    await waitUntilServing(workers);
  } catch (err) {
    await stop();
    throw err;
  }
  return { vars, workers, proxy, stop };
}

/** Times a round's train flows (all of them, with a tree), and shows every flow to `onSpec` as it is submitted. */
function timedFlows(transport: FlowTransport, onFlow: (start: number, end: number) => void, onSpec: (flow: FlowSpec) => void): FlowTransport {
  return new Proxy(transport, {
    get(target, prop) {
      if (prop === 'runFlow') {
        return async (...args: Parameters<FlowTransport['runFlow']>) => {
          const started = performance.now();
          onSpec(args[0] as FlowSpec);
          try {
            return await target.runFlow(...args);
          } finally {
            if (args[0].parent.kind !== 'evalSummary') onFlow(started, performance.now());
          }
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The measured round's train jobs again, one after another in this process through the same job
 * handlers (trainCohort: θ_g decoded once per cohort, model and data resident), with no queue and
 * an in-memory blob store holding only the run's inputs: the round's training without orchestration.
 */
async function pureTraining(source: BlobStore, children: readonly FlowChild[], perRound: number): Promise<{ wall: number; cpu: number }> {
  await initCompute({ prefer: 'auto' });
  const runId = 'bench-scale';
  const store = new MemoryBlobStore();
  for (const key of [keys.run(runId), keys.partition(runId), keys.global(runId, 1)]) await store.put(key, await source.get(key));
  const handlers = createJobHandlers({ store, contexts: new RunContextCache(store), backend: computeBackendName() });
  const runAll = async (jobs: readonly FlowChild[]) => {
    for (const child of jobs) await handlers.runChild(child.kind, child.payload, { attempt: 1, jobId: child.id });
  };
  // Warm: one whole pass first, as the workers were warmed by the cold round 0 (the run's context,
  // the compute backend's start-up, the JIT); timing only a few warm-up jobs over-states training.
  await runAll(children);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await runAll(children);
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: wall / perRound, cpu: (cpu.user + cpu.system) / 1e6 / perRound };
}

/** User + system CPU seconds of this process (all its threads) and of the given processes. */
function cpuSeconds(pids: readonly number[]): number {
  const own = process.cpuUsage();
  let total = (own.user + own.system) / 1e6;
  for (const pid of pids) {
    // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks, after the parenthesised name
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }
  return total;
}
const CLOCK_TICKS = 100;

function procIo(): { read: number; written: number } {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { read: field('rchar'), written: field('wchar') };
}

function ioSince(start: { read: number; written: number }): ByteCounts & { source: string } {
  const now = procIo();
  return { read: now.read - start.read, written: now.written - start.written, requests: 0, source: 'read/write syscalls of the process' };
}

function peakRss(pid: number): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function redisMemory(url: string): Promise<{ used: number; peak: number }> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { used: field('used_memory'), peak: field('used_memory_peak') };
  } finally {
    client.disconnect();
  }
}
