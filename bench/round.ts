/**
 * A peer simulator's usual FMNIST setting, run embedded: 20 clients, Dirichlet 0.1, FedAvgCNN,
 * batch 10, SGD lr 0.005 (no momentum), 1 local epoch, every client in every round. Prints the
 * training samples per second per core (wall and CPU time), and the process's peak RSS.
 *
 *   node --conditions=fedsim-source --import tsx bench/round.ts [--rounds 2] [--threads 2] [--json]
 *   (usually through `npm run bench:train -- --round`, which adds the PyTorch reference)
 * FEDSIM_BACKEND and FEDSIM_WASM_KERNELS pick the compute backend (default: auto).
 *
 * Run in a process of its own: peak RSS is the whole process's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExperimentConfig, RoundRow } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { loadDataset, partitionFor } from '@fedsim/runtime/data';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { loadExperimentFile } from '../apps/coordinator/src/config-file.js';
import { computeOptionsFromEnv } from './lib/compute-env.js';

export interface RoundBenchResult {
  readonly threads: number;
  readonly rounds: number;
  readonly samplesPerRound: number;
  /** per round: the clients' training time summed (what one core spends training them) */
  readonly trainSeconds: number[];
  /** process CPU seconds (every thread, coordinator included) per round without evaluation */
  readonly cpuSeconds: number[];
  readonly samplesPerSecondPerCore: number;
  readonly samplesPerCpuSecond: number;
  readonly peakRssMiB: number;
  readonly backends: string[];
  readonly loadAverage: number[];
}

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } },
});
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const BATCH = 10;

const config: ExperimentConfig = await loadExperimentFile('configs/reference-fmnist-dir0.1.yaml', [
  'name=bench-round',
  'partition.numClients=20',
  'joinRatio=1',
  `rounds=${rounds}`,
  'train.epochs=1',
  `train.batchSize=${BATCH}`,
  'train.lr=0.005',
  'train.momentum=0',
  'finetune.epochs=0',
  // the engine still evaluates after the last round; that round's CPU time is left out below
  `eval.every=${rounds + 1000}`,
]);

/** Samples one local epoch trains on: every client's train split, less a last batch of one (dropped). */
async function samplesPerRound(): Promise<number> {
  const dataset = await loadDataset(config.data);
  const partition = partitionFor(dataset, config.partition, config.seed);
  return partition.clients.reduce((a, c) => a + c.train.length - (c.train.length % BATCH === 1 ? 1 : 0), 0);
}

const samples = await samplesPerRound();
const dir = await mkdtemp(join(tmpdir(), 'fedsim-bench-round-'));
const rows: RoundRow[] = [];
const cpu: number[] = [];
try {
  const compute = computeOptionsFromEnv(process.env);
  const rt = await embeddedRuntime({ root: dir, workers: threads, backend: compute.prefer ?? 'auto', wasmKernels: compute.wasmKernels });
  try {
    let last = process.cpuUsage();
    await runExperiment(config, {
      runId: 'bench-round',
      store: rt.store,
      transport: rt.transport,
      observer: {
        onRound: (r) => {
          const now = process.cpuUsage();
          cpu.push((now.user - last.user + now.system - last.system) / 1e6);
          last = now;
          rows.push(r);
        },
      },
    });
  } finally {
    await rt.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const trainSeconds = rows.map((r) => r.trainSeconds);
const cpuSeconds = rows.flatMap((r, i) => (r.evaluation ? [] : [cpu[i]!]));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const result: RoundBenchResult = {
  threads,
  rounds,
  samplesPerRound: samples,
  trainSeconds,
  cpuSeconds,
  samplesPerSecondPerCore: (samples * trainSeconds.length) / sum(trainSeconds),
  samplesPerCpuSecond: (samples * cpuSeconds.length) / sum(cpuSeconds),
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  backends: [...new Set(rows.flatMap((r) => r.backends))],
  loadAverage: loadavg(),
};
if (values.json) console.log(`RESULT ${JSON.stringify(result)}`);
else console.log(result);
