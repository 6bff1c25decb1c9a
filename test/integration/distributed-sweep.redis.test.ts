import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { reportCommand } from '../../apps/coordinator/src/sweep/commands.js';
import { loadSweepFile } from '../../apps/coordinator/src/sweep/sweep-file.js';
import { runSweep } from '../../apps/coordinator/src/sweep/sweep-run.js';
import { startDistributedEnv, type DistributedEnv } from './distributed-env.js';
import { parseCoordinatorEnv } from '../../apps/coordinator/src/env.js';

/** The environment as the CLI parses it, read when called (tests set REDIS_URL, S3_* first). */
const processEnv = () => parseCoordinatorEnv(process.env);

const root = join(import.meta.dirname, '..', '..');
let dist: DistributedEnv;
let dir: string;
const saved = { ...process.env };

before(async () => {
  dist = await startDistributedEnv(2);
  dir = await mkdtemp(join(tmpdir(), 'fedsim-dist-sweep-'));
  // runSweep and the report read the distributed settings from the environment, as the CLI does
  Object.assign(process.env, dist.env);
});

after(async () => {
  for (const k of Object.keys(dist?.env ?? {})) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await dist?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a sweep on the worker fleet gives the embedded sweep\'s final models, and its report reads the S3 store', async () => {
  const plan = await loadSweepFile(join(root, 'configs/sweeps/smoke.yaml'));
  const embedded = await runSweep(plan, { distributed: false, out: join(dir, 'embedded'), workers: 2, backend: 'wasm', quiet: true }, processEnv());
  const distributed = await runSweep(plan, { distributed: true, out: join(dir, 'dist'), backend: 'wasm', quiet: true, concurrency: 2 }, processEnv());
  const shas = (o: typeof embedded) => o.runs.map((r) => [r.runId, r.outcome, r.summary?.finalModelSha256]);
  assert.deepEqual(shas(distributed), shas(embedded));
  assert.ok(distributed.runs.every((r) => r.outcome === 'done'));

  const files = await reportCommand('smoke', { distributed: true, out: join(dir, 'dist') }, processEnv());
  const runsCsv = await readFile(files.find((f) => f.endsWith('runs.csv'))!, 'utf8');
  for (const r of embedded.runs) assert.ok(runsCsv.includes(`${r.runId},`) && runsCsv.includes(r.summary!.finalModelSha256), r.runId);
  const groups = (await readFile(files.find((f) => f.endsWith('groups.csv'))!, 'utf8')).trim().split('\n');
  // rows come from the results mirrored into S3: bytes per round is filled in
  assert.ok(groups.slice(1).every((g) => Number(g.split(',')[11]) > 0), groups.join('\n'));
});
