/**
 * Scrapes a real coordinator (`fedsim run --distributed`) and a real worker process during a
 * short run on Redis + a local S3, and checks the metric series the dashboards and alerts rely
 * on exist with sane values.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/index.js';
import { startDistributedEnv, type DistributedEnv } from '../integration/distributed-env.js';
import { sourceNodeArgs } from '../integration/fixtures.js';
import { find, parseExposition, valueOf, type Exposition } from '../../libs/runtime/test/observability/exposition.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let dist: DistributedEnv;
let dir: string;
let env: Record<string, string>;
let workerPort: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-scrape-'));
  workerPort = await freePort();
  dist = await startDistributedEnv(1, { FEDSIM_METRICS_HOST: '127.0.0.1', FEDSIM_METRICS_PORT: String(workerPort) });
  env = dist.env;
});

after(async () => {
  await dist?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function scrape(port: number): Promise<{ text: string; exposition: Exposition } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (!response.ok) return undefined;
    const text = await response.text();
    return { text, exposition: parseExposition(text) };
  } catch {
    return undefined;
  }
}

async function status(port: number, path: string): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } catch {
    return undefined;
  }
}

test('a short distributed run exposes the fedsim series on the coordinator and the worker', async () => {
  const coordinatorPort = await freePort();
  const rounds = 6;
  const child = spawn(process.execPath, [
    ...sourceNodeArgs, 'apps/coordinator/src/cli.ts', 'run', 'configs/smoke-synthetic.yaml', '--distributed',
    '--out', dir, '--run-id', 'scrape', '--quiet', '--set', `rounds=${rounds}`,
  ], { cwd: repoRoot, env: { ...process.env, ...env, FEDSIM_METRICS_PORT: String(coordinatorPort) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // Scrape the coordinator while it runs; keep the latest answer (the process exits at the end).
  let last: { text: string; exposition: Exposition } | undefined;
  let sawReady = false;
  const deadline = Date.now() + 240_000;
  while (child.exitCode === null && Date.now() < deadline) {
    const scraped = await scrape(coordinatorPort);
    if (scraped) last = scraped;
    if (!sawReady) sawReady = (await status(coordinatorPort, '/readyz')) === 200;
    await new Promise((r) => setTimeout(r, 100));
  }
  const code = await exited;
  assert.equal(code, 0, `coordinator failed:\n${output}`);
  assert.ok(last, `the coordinator never answered /metrics on FEDSIM_METRICS_PORT=${coordinatorPort}:\n${output}`);
  assert.ok(sawReady, 'the coordinator reported ready on /readyz');

  const c = last.exposition;
  const exp = { experiment: 'smoke-synthetic', algorithm: 'fedavg' };
  const committed = valueOf(c, 'fedsim_rounds_committed_total', exp) ?? 0;
  assert.ok(committed >= 1 && committed <= rounds, `rounds committed: ${committed}`);
  const current = valueOf(c, 'fedsim_current_round', exp) ?? -1;
  assert.ok(current >= 0 && current < rounds, `current round: ${current}`);
  assert.ok((valueOf(c, 'fedsim_clients_per_round', exp) ?? 0) >= 1, 'clients per round');
  assert.ok((valueOf(c, 'fedsim_round_duration_seconds_count', exp) ?? 0) >= 1, 'round durations observed');
  assert.ok((valueOf(c, 'fedsim_client_updates_total', exp) ?? 0) >= 1, 'client updates counted');
  const accuracy = find(c, 'fedsim_eval_accuracy_ratio', { ...exp, view: 'pooled' })[0]?.value;
  if (accuracy !== undefined) assert.ok(accuracy >= 0 && accuracy <= 1, `pooled accuracy ${accuracy}`);
  assert.ok(find(c, 'fedsim_queue_jobs').some((s) => s.labels.state === 'waiting'), 'queue depths tracked');
  assert.ok((valueOf(c, 'process_cpu_seconds_total') ?? 0) > 0, 'process metrics');
  assert.equal(valueOf(c, 'fedsim_build_info', { role: 'coordinator' }), 1);

  // The worker, still running, has the job side.
  const w = await scrape(workerPort);
  assert.ok(w, 'the worker answers /metrics');
  assert.equal(await status(workerPort, '/healthz'), 200);
  assert.equal(await status(workerPort, '/readyz'), 200);
  const trainJobs = find(w.exposition, 'fedsim_jobs_total', { job_kind: 'train', outcome: 'completed' }).reduce((a, s) => a + s.value, 0);
  assert.ok(trainJobs >= rounds, `train jobs completed: ${trainJobs}`);
  assert.ok(find(w.exposition, 'fedsim_job_duration_seconds_count', { job_kind: 'train', backend: 'wasm', pool: 'default' }).length > 0);
  assert.equal(valueOf(w.exposition, 'fedsim_worker_concurrency', { pool: 'default' }), 1);
  assert.equal(valueOf(w.exposition, 'fedsim_worker_busy_slots', { pool: 'default' }), 0, 'idle after the run');
  assert.ok((valueOf(w.exposition, 'fedsim_blob_transfer_bytes_total', { direction: 'download' }) ?? 0) > 0, 'bytes downloaded');
  assert.ok((valueOf(w.exposition, 'fedsim_blob_transfer_bytes_total', { direction: 'upload' }) ?? 0) > 0, 'bytes uploaded');
  assert.equal(valueOf(w.exposition, 'fedsim_build_info', { role: 'worker' }), 1);

  // Label hygiene and no leaks, on both processes.
  for (const { text, exposition } of [last, w]) {
    for (const s of exposition.samples) {
      assert.ok(!('client' in s.labels) && !('round' in s.labels) && !('client_id' in s.labels), `${s.name} carries a client/round label`);
    }
    assert.ok(!text.includes(env['AWS_SECRET_ACCESS_KEY']!), 'the S3 secret never appears in /metrics');
  }
});
