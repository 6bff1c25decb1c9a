import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { keys } from '@fedsim/runtime';
import { parseS3Env, S3BlobStore } from '@fedsim/runtime/adapters';
import { startRedis } from '../harness/index.js';
import type { RedisHandle } from '../harness/index.js';
import { sourceNodeArgs, syntheticExperiment } from '../integration/fixtures.js';
import { spawnWorker, waitUntilServing } from '../integration/workers.js';
import type { WorkerProcess } from '../integration/workers.js';
import { startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * A distributed coordinator (`fedsim run --distributed`, its own process) SIGKILLed at several
 * points and run again: the final model equals the uninterrupted run's, every round has exactly
 * one row in results.csv, and the final evaluation is of the last round. Long: several coordinator
 * processes, each loading the sources.
 */
const long = process.env['FEDSIM_LONG_TESTS'] === '1';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = 4;

let redis: RedisHandle;
let s3: S3BehindProxy;
let store: S3BlobStore;
let workers: WorkerProcess[] = [];
let dir: string;
let configPath: string;
let env: Record<string, string>;

before(async () => {
  if (!long) return;
  [redis, s3] = await Promise.all([startRedis(), startS3BehindProxy()]);
  dir = await mkdtemp(join(tmpdir(), 'fedsim-coord-kill-'));
  configPath = join(dir, 'experiment.json');
  // the parsed fixture is a valid config file too (parsing it again gives the same config)
  const config = syntheticExperiment({ name: 'coord-kill', rounds: ROUNDS, eval: { every: 2 }, failures: { attempts: 2, roundDeadlineSeconds: 600, minSuccessFraction: 1 } });
  await writeFile(configPath, JSON.stringify(config));
  env = { ...s3.env(), REDIS_URL: redis.url, FEDSIM_QUEUE_PREFIX: redis.prefix, FEDSIM_BACKEND: 'wasm', FEDSIM_WORKER_CONCURRENCY: '1', FEDSIM_METRICS_PORT: '0' };
  store = new S3BlobStore(parseS3Env(s3.env({ S3_ENDPOINT: s3.s3.endpoint })));
  workers = [spawnWorker(env), spawnWorker(env)];
  await waitUntilServing(workers);
});

after(async () => {
  if (!long) return;
  store?.close();
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all([redis?.stop(), s3?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** `fedsim run --distributed`; with `killWhen`, SIGKILLed as soon as it holds. */
async function coordinator(runId: string, killWhen?: () => Promise<boolean>): Promise<{ code: number | null; killed: boolean }> {
  const child = spawn(process.execPath, [...sourceNodeArgs, 'apps/coordinator/src/cli.ts', 'run', configPath, '--distributed', '--run-id', runId, '--out', dir, '--quiet', '--metrics-port', '0'], {
    cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let killed = false;
  if (killWhen) {
    void (async () => {
      while (child.exitCode === null && !(await killWhen().catch(() => false))) await new Promise((r) => setTimeout(r, 25));
      killed = child.exitCode === null && child.kill('SIGKILL');
    })();
  }
  const code = await exited;
  if (!killed && code !== 0) throw new Error(`fedsim run exited with ${code}:\n${err}`);
  return { code, killed };
}

async function results(runId: string) {
  const runDir = join(dir, 'runs', runId);
  const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as { finalModelSha256: string; final: { round: number } | null };
  const csv = (await readFile(join(runDir, 'results.csv'), 'utf8')).trim().split('\n');
  const rounds = csv.slice(1).map((line) => Number(line.split(',')[0]));
  return { summary, rounds };
}

const stored = (key: string) => () => store.exists(key);
const killPoints: readonly { name: string; when: (runId: string) => () => Promise<boolean> }[] = [
  {
    name: 'mid-round 1 (first update stored)',
    when: (id) => async () => (await store.list(keys.update(id, 1, 0, 1).replace(/0\/attempt-1\.bin$/, ''))).length > 0,
  },
  { name: 'right after round 1 committed, before its evaluation', when: (id) => stored(keys.commit(id, 1)) },
  { name: 'during the final evaluation (last round committed)', when: (id) => stored(keys.commit(id, ROUNDS - 1)) },
];

test('coordinator SIGKILLed mid-round, between commit and evaluation, and during the final evaluation: the re-run completes the same run', { skip: !long && 'set FEDSIM_LONG_TESTS=1' }, async () => {
  await coordinator('reference');
  const reference = await results('reference');
  assert.deepEqual(reference.rounds, [0, 1, 2, 3]);
  for (const point of killPoints) {
    const runId = `kill-${killPoints.indexOf(point)}`;
    const started = Date.now();
    const first = await coordinator(runId, point.when(runId));
    assert.ok(first.killed, `${point.name}: the coordinator was killed before it finished`);
    await coordinator(runId);
    const again = await results(runId);
    console.log(`# coordinator killed ${point.name}: resumed to the end in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(again.summary.finalModelSha256, reference.summary.finalModelSha256, point.name);
    assert.deepEqual(again.rounds, [0, 1, 2, 3], `${point.name}: one row per round, none twice`);
    assert.equal(again.summary.final?.round, ROUNDS, `${point.name}: the final evaluation is of the last round`);
  }
});
