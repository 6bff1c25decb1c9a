/**
 * Rounds with many clients: for registered N and per-round K, one warm round of logreg on synthetic
 * data (68 parameters, ~22 training samples per client), embedded and distributed (Redis + S3 API
 * server + worker processes), next to this machine's ceilings (plain BullMQ, blob put/get).
 *
 *   npm run bench:scale -- [--cells 1000x100,10000x1000] [--modes embedded,distributed]
 *                          [--slots 2] [--budget 300] [--cohort-size auto|N] [--reduce-fan-in auto|N] [--eval]
 *
 * Each cell runs in a child process of its own, so the coordinator's peak RSS is that cell's.
 * A cell whose estimated time (from the previous cells' seconds per client) exceeds --budget
 * seconds is trimmed, and the table says so.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalDirBlobStore, S3BlobStore } from '@fedsim/runtime/adapters';
import { startRedis, startS3 } from '../test/harness/index.js';
import { sourceNodeArgs } from '../test/integration/fixtures.js';
import { blobCeiling, bullmqCeiling, type BlobCeiling, type QueueCeiling } from './lib/ceilings.js';
import { runCell, type CellResult, type CellSpec, type Mode } from './lib/scale-cell.js';

const DEFAULT_CELLS = '1000x100,1000x1000,10000x100,10000x1000,10000x10000,100000x100,100000x1000,100000x10000';
const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: DEFAULT_CELLS },
    modes: { type: 'string', default: 'embedded,distributed' },
    slots: { type: 'string', default: '2' },
    budget: { type: 'string', default: '300' },
    /** the experiments' cohortSize (clients per train job); the engine's default when absent */
    'cohort-size': { type: 'string' },
    /** the experiments' reduceFanIn (most partials one aggregation job reads); the engine's default when absent */
    'reduce-fan-in': { type: 'string' },
    /** also evaluate all N clients after the measured round (evalCohort jobs), timed apart */
    eval: { type: 'boolean', default: false },
    /** internal: run one cell (`N:K:mode`) and print its result as JSON */
    cell: { type: 'string' },
  },
});
const slots = Number(values.slots);
const cohortArg = values['cohort-size'];
const cohortSize = cohortArg === undefined ? undefined : cohortArg === 'auto' ? ('auto' as const) : Number(cohortArg);
if (typeof cohortSize === 'number' && !(Number.isInteger(cohortSize) && cohortSize >= 1)) throw new Error(`--cohort-size: '${cohortArg}' is neither auto nor a positive integer`);
const fanInArg = values['reduce-fan-in'];
const reduceFanIn = fanInArg === undefined ? undefined : fanInArg === 'auto' ? ('auto' as const) : Number(fanInArg);
if (typeof reduceFanIn === 'number' && !(Number.isInteger(reduceFanIn) && reduceFanIn >= 2)) throw new Error(`--reduce-fan-in: '${fanInArg}' is neither auto nor an integer ≥ 2`);
const tuning = { ...(cohortSize !== undefined ? { cohortSize } : {}), ...(reduceFanIn !== undefined ? { reduceFanIn } : {}) };

if (values.cell) {
  const [n, k, mode] = values.cell.split(':');
  const result = await runCell({ numClients: Number(n), perRound: Number(k), mode: mode as Mode, slots, evaluate: values.eval, ...tuning });
  console.log(`CELL ${JSON.stringify(result)}`);
  process.exit(0);
}

const cells = values.cells.split(',').map((c) => {
  const [n, k] = c.split('x').map(Number);
  if (!n || !k || k > n) throw new Error(`--cells: '${c}' is not NxK with 1 ≤ K ≤ N`);
  return { numClients: n, perRound: k };
});
const modes = values.modes.split(',').map((m) => {
  if (m !== 'embedded' && m !== 'distributed') throw new Error(`--modes: '${m}' is neither embedded nor distributed`);
  return m as Mode;
});
const budget = Number(values.budget);

console.log(`bench:scale: logreg, synthetic, ${slots} compute slots, cohortSize ${cohortArg ?? 'default'}, reduceFanIn ${fanInArg ?? 'default'}; budget ${budget} s per cell`);
const ceilings = await measureCeilings();
printCeilings(ceilings);

type Outcome = { spec: CellSpec; result: CellResult } | { spec: CellSpec; trimmed: string };
const outcomes: Outcome[] = [];
const secondsPerClient: Partial<Record<Mode, number>> = {};
const evalPerClient: Partial<Record<Mode, number>> = {};
for (const cell of [...cells].sort((a, b) => a.perRound - b.perRound || a.numClients - b.numClients)) {
  for (const mode of modes) {
    const spec: CellSpec = { ...cell, mode, slots, evaluate: values.eval, ...tuning };
    const perClient = secondsPerClient[mode];
    // Two rounds (cold + measured), the evaluation of all N, start-up; 0.3 s per 1k registered clients for data and partition.
    const estimate = perClient === undefined ? 0 : 2 * perClient * cell.perRound + (evalPerClient[mode] ?? 0) * cell.numClients + 20 + (0.3 * cell.numClients) / 1000;
    if (estimate > budget) {
      outcomes.push({ spec, trimmed: `trimmed: ~${estimate.toFixed(0)} s estimated (> --budget ${budget})` });
      console.log(`${label(spec)}: trimmed, ~${estimate.toFixed(0)} s estimated`);
      continue;
    }
    const started = performance.now();
    const result = await runCellProcess(spec);
    // Cells run by growing K, so the last cell's cost per client is the best guess for the next.
    secondsPerClient[mode] = result.wall / result.perRound;
    evalPerClient[mode] = result.evaluation / result.numClients;
    console.log(`${label(spec)}: measured round ${result.wall.toFixed(2)} s (cell took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    outcomes.push({ spec, result });
  }
}
printTable(outcomes, ceilings);

function label(s: CellSpec) {
  return `${s.mode} N=${s.numClients} K=${s.perRound}`;
}

async function runCellProcess(spec: CellSpec): Promise<CellResult> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [
    ...sourceNodeArgs, script, '--cell', `${spec.numClients}:${spec.perRound}:${spec.mode}`, '--slots', String(spec.slots),
    ...(spec.cohortSize !== undefined ? ['--cohort-size', String(spec.cohortSize)] : []),
    ...(spec.reduceFanIn !== undefined ? ['--reduce-fan-in', String(spec.reduceFanIn)] : []),
    ...(spec.evaluate ? ['--eval'] : []),
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('CELL '));
  if (code !== 0 || !line) throw new Error(`${label(spec)} failed (exit ${code}):\n${err}`);
  return JSON.parse(line.slice(5)) as CellResult;
}

interface Ceilings {
  readonly queue: QueueCeiling;
  readonly blobs: readonly BlobCeiling[];
}

async function measureCeilings(): Promise<Ceilings> {
  const [redis, s3] = await Promise.all([startRedis(), startS3()]);
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-bench-ceiling-'));
  const s3store = new S3BlobStore({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
  try {
    const queue = await bullmqCeiling(redis.url, redis.prefix);
    const blobs: BlobCeiling[] = [];
    for (const store of [s3store, new LocalDirBlobStore(dir)]) {
      blobs.push(await blobCeiling(store, 1024, 1000));
      blobs.push(await blobCeiling(store, 2 * 2 ** 20, 40));
    }
    return { queue, blobs };
  } finally {
    s3store.close();
    await Promise.all([redis.stop(), s3.stop(), rm(dir, { recursive: true, force: true })]);
  }
}

function printCeilings(c: Ceilings) {
  console.log(`\nceilings on this machine`);
  console.log(`  plain BullMQ, empty processor, concurrency ${c.queue.concurrency}: ${c.queue.jobsPerSecond.toFixed(0)} jobs/s (${c.queue.jobs} jobs)`);
  for (const b of c.blobs) {
    const size = b.objectBytes >= 2 ** 20 ? `${b.objectBytes / 2 ** 20} MiB` : `${b.objectBytes / 1024} KiB`;
    console.log(
      `  ${b.store.startsWith('dir:') ? 'local dir' : 's3rver   '} ${size.padStart(6)} ×${b.objects}: ` +
        `put ${b.putPerSecond.toFixed(0)}/s (${b.putMiBPerSecond.toFixed(1)} MiB/s), get ${b.getPerSecond.toFixed(0)}/s (${b.getMiBPerSecond.toFixed(1)} MiB/s)`,
    );
  }
}

function printTable(rows: readonly Outcome[], c: Ceilings) {
  const mib = (b: number | null) => (b === null || Number.isNaN(b) ? '-' : (b / 2 ** 20).toFixed(1));
  const kib = (b: number) => (b / 1024).toFixed(0);
  const header = [
    'mode', 'N', 'K', 'round s', 'queue+jobs', 'training', 'aggreg.', 'bookkeep.', 'updates/s', 'overhead ms/client',
    'coord RSS MiB', 'worker RSS MiB', 'redis MiB', 'blob W/R KiB', 'S3 req', 'vs BullMQ', 'cold round s', 'reads: aggreg./max reduce',
    'eval N s (jobs)', 'pure train CPU ms/client', 'round CPU s', 'overhead CPU ms/client',
  ];
  console.log('\n| ' + header.join(' | ') + ' |');
  console.log('|' + header.map(() => '---').join('|') + '|');
  for (const o of rows) {
    const s = o.spec;
    if ('trimmed' in o) {
      console.log(`| ${s.mode} | ${s.numClients} | ${s.perRound} | ${o.trimmed} |`);
      continue;
    }
    const r = o.result;
    // Pure training as wall time: the clients' local training alone, spread over the compute slots.
    const training = (r.pureTrainPerClient * r.perRound) / r.slots;
    const bookkeeping = r.wall - r.flow;
    const queueing = Math.max(0, r.flow - r.aggregation - training);
    const updatesPerSecond = r.succeeded / r.wall;
    const cells = [
      s.mode, s.numClients, s.perRound, r.wall.toFixed(2), queueing.toFixed(2), training.toFixed(3), r.aggregation.toFixed(2),
      bookkeeping.toFixed(2), updatesPerSecond.toFixed(0), (((r.wall - training) / r.perRound) * 1000).toFixed(2),
      mib(r.coordinatorPeakRssBytes), r.workerPeakRssBytes.length ? r.workerPeakRssBytes.map(mib).join('/') : 'in coord.',
      mib(r.redisPeakMemory) + (r.redisUsedMemory === null ? '' : ` (now ${mib(r.redisUsedMemory)})`),
      `${kib(r.blob.written)}/${kib(r.blob.read)}`, r.blob.requests || '-',
      `${((updatesPerSecond / c.queue.jobsPerSecond) * 100).toFixed(1)}%`, r.coldRoundWall.toFixed(2),
      r.reads ? `${r.reads.aggregate}/${r.reads.maxPerReduceJob}` + (r.reads.reduceJobs ? ` (${r.reads.reduceJobs} reduce jobs, slowest ${r.reduceSeconds.toFixed(2)} s)` : '') : '-',
      r.evalJobs ? `${r.evaluation.toFixed(2)} (${r.evalJobs})` : '-', (r.pureTrainCpuPerClient * 1000).toFixed(3), r.roundCpu.toFixed(2),
      (((r.roundCpu - r.pureTrainCpuPerClient * r.perRound) / r.perRound) * 1000).toFixed(3),
    ];
    console.log('| ' + cells.join(' | ') + ' |');
  }
  console.log(
    '\nround = queue+jobs + training + aggregation + bookkeeping. training = pure local training of the round\'s clients ' +
      '(the round\'s train jobs run again one after another in the cell\'s process through the same handlers, no queue, ' +
      'blobs in memory) / slots; aggregation = the aggregation job; bookkeeping = coordinator ' +
      'time outside the round\'s flow; queue+jobs = the rest of the flow (queueing, job dispatch, per-client blob I/O). ' +
      'overhead/client = (round − training) / K. reads = update and partial blobs read by the aggregation job / by the most-reading ' +
      'reduce job (tree aggregation; reduce jobs run inside queue+jobs). vs BullMQ = updates/s ÷ plain BullMQ jobs/s. redis = used_memory_peak. ' +
      'blob W/R: distributed = S3 request/response bodies of all processes; embedded = the process\'s read/write syscalls ' +
      '(both include the evaluation). eval N = evaluating all N clients after the round, not in round s. ' +
      'round CPU = CPU seconds of the coordinator and workers in the round (not Redis, not the S3 server); ' +
      'overhead CPU/client = (round CPU − pure train CPU × K) / K: the orchestration\'s own cost, unlike wall time ' +
      'not inflated by other load on the machine.',
  );
}
