import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { readRunStatus, requestCancel } from '@fedsim/runtime/sweep';
import { loadSweepFile } from '../src/sweep/sweep-file.js';
import { runSweep } from '../src/sweep/sweep-run.js';
import { collectStatus, formatStatus } from '../src/sweep/status.js';
import { parseCoordinatorEnv } from '../src/env.js';

/** The environment as the CLI parses it, read when called (tests set REDIS_URL, S3_* first). */
const processEnv = () => parseCoordinatorEnv(process.env);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(repo, 'apps/coordinator/src/cli.ts');
let dir: string;
let sweepFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-sweep-'));
  sweepFile = join(dir, 'k.yaml');
  // 4 runs x 6 rounds: long enough to be killed in the middle, seconds in total
  await writeFile(
    sweepFile,
    `name: k\nbase: ${join(repo, 'configs/smoke-synthetic.yaml')}\nset: { rounds: 6, eval.every: 2 }\n` +
      `axes:\n  - algorithm.name: [fedavg, fedper]\n  - seed: [1, 2]\nconcurrency: 2\n`,
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const opts = (out: string) => ({ distributed: false, out, workers: 2, backend: 'wasm' as const, quiet: true });

async function finalShas(out: string, runIds: readonly string[]): Promise<Record<string, string>> {
  const store = new LocalDirBlobStore(out);
  const shas: Record<string, string> = {};
  for (const id of runIds) {
    const status = await readRunStatus(store, id);
    assert.equal(status?.state, 'done', `${id} finished`);
    const summary = JSON.parse(await readFile(join(out, 'runs', id, 'summary.json'), 'utf8')) as { finalModelSha256: string };
    assert.equal(status.finalModelSha256, summary.finalModelSha256);
    shas[id] = summary.finalModelSha256;
  }
  return shas;
}

async function commits(out: string): Promise<number> {
  let n = 0;
  for (const run of await readdir(join(out, 'runs')).catch(() => [])) {
    for (const round of await readdir(join(out, 'runs', run, 'rounds')).catch(() => [])) {
      n += (await readdir(join(out, 'runs', run, 'rounds', round)).catch(() => [] as string[])).includes('commit.json') ? 1 : 0;
    }
  }
  return n;
}

let reference: Record<string, string> = {};

test('the examples and bad sweep files are checked before anything runs', async () => {
  for (const f of await readdir(join(repo, 'configs/sweeps'))) {
    const plan = await loadSweepFile(join(repo, 'configs/sweeps', f));
    assert.ok(plan.runs.length > 0, f);
  }
  const table = await loadSweepFile(join(repo, 'configs/sweeps/fedobp-reference-table.yaml'));
  assert.equal(table.runs.length, 42);
  assert.equal(new Set(table.runs.map((r) => r.group)).size, 14);
  await writeFile(join(dir, 'bad-ref.yaml'), `name: b\nbase: ${join(repo, 'configs/smoke-synthetic.yaml')}\nreference: nope.json\naxes:\n  - seed: [1]\n`);
  await assert.rejects(loadSweepFile(join(dir, 'bad-ref.yaml')), /unknown reference table '.*nope\.json': no such file/);
  await writeFile(join(dir, 'bad-base.yaml'), `name: b\nbase: missing.yaml\naxes:\n  - seed: [1]\n`);
  await assert.rejects(loadSweepFile(join(dir, 'bad-base.yaml')), /cannot read base config of sweep b '.*missing\.yaml': ENOENT/);
  await writeFile(join(dir, 'bad-axis.yaml'), `name: b\nbase: ${join(repo, 'configs/smoke-synthetic.yaml')}\naxes:\n  - partition.alpah: [0.1]\n`);
  await assert.rejects(loadSweepFile(join(dir, 'bad-axis.yaml')), /run b\.alpah-0\.1[^]*alpah/);
});

test('an uninterrupted sweep runs every run once; running it again skips them all', async () => {
  const out = join(dir, 'reference');
  const plan = await loadSweepFile(sweepFile);
  const first = await runSweep(plan, opts(out), processEnv());
  assert.deepEqual(first.runs.map((r) => r.outcome), ['done', 'done', 'done', 'done']);
  reference = await finalShas(out, plan.runs.map((r) => r.runId));
  const again = await runSweep(plan, opts(out), processEnv());
  assert.deepEqual(again.runs.map((r) => r.outcome), ['skipped', 'skipped', 'skipped', 'skipped']);
  const status = formatStatus(await collectStatus(new LocalDirBlobStore(out)));
  assert.match(status, /^sweep k: 4 done/);
  assert.match(status, /k\.fedper\.seed-2 +done +6\/6 +best \d+\.\d\d%/);
});

test('cancel stops a sweep at a round boundary; running it again resumes to the same models', async () => {
  const out = join(dir, 'cancelled');
  const plan = await loadSweepFile(sweepFile);
  const store = new LocalDirBlobStore(out);
  const running = runSweep(plan, { ...opts(out), concurrency: 1 }, processEnv());
  while ((await commits(out)) < 2) await new Promise((r) => setTimeout(r, 50));
  await requestCancel(store, { sweep: 'k' });
  const stopped = await running;
  assert.deepEqual(stopped.runs.map((r) => r.outcome), ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  const lines = await collectStatus(store);
  assert.equal(lines[0]!.state, 'cancelled');
  assert.ok(lines[0]!.round >= 2 && lines[0]!.round < 6, `stopped in the middle: ${lines[0]!.round}`);
  assert.ok(lines.slice(1).every((l) => l.state === 'cancelled' && l.round === 0), 'queued runs never started');

  const resumed = await runSweep(plan, { ...opts(out), concurrency: 1 }, processEnv());
  assert.deepEqual(resumed.runs.map((r) => r.outcome), ['done', 'done', 'done', 'done']);
  assert.deepEqual(await finalShas(out, plan.runs.map((r) => r.runId)), reference);
});

/** Runs `fedsim sweep run` as a child; resolves with its exit and output, or kills it once `killAt` commits exist. */
function sweepProcess(out: string, killAt: number | null): Promise<{ code: number | null; signal: string | null; stderr: string; commits: number }> {
  const child = spawn(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', cli, 'sweep', 'run', sweepFile, '--out', out,
    '--workers', '2', '--backend', 'wasm', '--no-report'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  let timer: NodeJS.Timeout | undefined;
  let killedAt = -1;
  if (killAt !== null) {
    timer = setInterval(() => {
      void commits(out).then((n) => {
        if (n >= killAt && killedAt < 0) {
          killedAt = n;
          child.kill('SIGKILL');
        }
      });
    }, 25);
  }
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      void commits(out).then((n) => done({ code, signal, stderr, commits: killedAt >= 0 ? killedAt : n }));
    });
  });
}

test('a sweep killed (SIGKILL) at several points and restarted ends with the same final models', async () => {
  const out = join(dir, 'killed');
  const plan = await loadSweepFile(sweepFile);
  const evidence: string[] = [];
  for (const killAt of [3, 9, 17]) {
    const r = await sweepProcess(out, killAt);
    assert.equal(r.signal, 'SIGKILL', `killed at ${killAt} commits; exit ${r.code}: ${r.stderr.slice(-2000)}`);
    evidence.push(`killed with ${r.commits} of 24 rounds committed`);
  }
  const last = await sweepProcess(out, null);
  assert.equal(last.code, 0, last.stderr.slice(-2000));
  // the last process found runs part-way and resumed them rather than starting over
  assert.match(last.stderr, /started at round [1-5]\/6/);
  const shas = await finalShas(out, plan.runs.map((r) => r.runId));
  assert.deepEqual(shas, reference);
  // every evaluation (including any a kill interrupted) is in the store
  for (const id of plan.runs.map((p) => p.runId)) {
    assert.deepEqual(await readdir(join(out, 'runs', id, 'evals')), ['000002.json', '000004.json', '000006.json'], id);
  }
  console.log(`kill-and-resume: ${evidence.join('; ')}; final sha256s equal the uninterrupted sweep's:\n${JSON.stringify(shas, null, 1)}`);
});
