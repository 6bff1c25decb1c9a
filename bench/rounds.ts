/**
 * Wall time per round of one experiment, embedded (in-process queue, N compute threads) vs
 * distributed (BullMQ on Redis, S3 API on loopback, N worker processes of one thread each).
 *
 *   npm run bench:rounds -- [config.yaml] [--rounds 3] [--workers 2]
 *
 * Uses REDIS_URL when set, else starts redis-server; the S3 side is s3rver on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExperimentConfig, RoundRow } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { distributedRuntime, embeddedRuntime } from '@fedsim/runtime/wiring';
import { loadExperimentFile } from '../apps/coordinator/src/config-file.js';
import { startDistributedEnv } from '../test/integration/distributed-env.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } },
});
const configPath = positionals[0] ?? 'configs/demo-fmnist.yaml';
const rounds = Number(values.rounds);
const workers = Number(values.workers);
// Evaluate only after the last round, so the per-round figures are training rounds.
const config: ExperimentConfig = await loadExperimentFile(configPath, [`rounds=${rounds}`, `eval.every=${rounds}`]);

const summarize = (label: string, rows: readonly RoundRow[]) => {
  const train = rows.filter((r) => !r.evaluation).map((r) => r.wallSeconds);
  const mean = train.reduce((a, b) => a + b, 0) / Math.max(1, train.length);
  console.log(
    `${label.padEnd(12)} rounds ${rows.map((r) => r.wallSeconds.toFixed(1)).join(' ')} s | ` +
      `mean training round ${mean.toFixed(2)} s | client compute ${(rows.reduce((a, r) => a + r.trainSeconds, 0) / rows.length).toFixed(1)} s/round`,
  );
};

const dir = await mkdtemp(join(tmpdir(), 'fedsim-bench-rounds-'));
try {
  console.log(`${configPath}: ${rounds} rounds, ${workers} compute slots, model ${config.model}, algorithm ${config.algorithm.name}`);
  const embeddedRows: RoundRow[] = [];
  const rt = await embeddedRuntime({ root: dir, workers, backend: 'auto' });
  try {
    await runExperiment(config, { runId: 'bench-embedded', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void embeddedRows.push(r) } });
  } finally {
    await rt.close();
  }
  summarize('embedded', embeddedRows);

  const dist = await startDistributedEnv(workers, { FEDSIM_BACKEND: 'auto' });
  const distributedRows: RoundRow[] = [];
  try {
    const drt = await distributedRuntime({ ...process.env, ...dist.env });
    try {
      await runExperiment(config, { runId: 'bench-distributed', store: drt.store, transport: drt.transport, observer: { onRound: (r) => void distributedRows.push(r) } });
    } finally {
      await drt.close();
    }
  } finally {
    await dist.stop();
  }
  summarize('distributed', distributedRows);
} finally {
  await rm(dir, { recursive: true, force: true });
}
