import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ScheduleClient, ScheduleServiceUnavailableError } from '@fedsim/runtime/adapters';
import type { ScheduleInfo } from '@fedsim/runtime/adapters';
import { LocalDirBlobStore } from '@fedsim/runtime/adapters';
import type { FiringRecord } from '@fedsim/runtime/sweep';
import { readRunStatus, readSweepRecord, recentFirings } from '@fedsim/runtime/sweep';
import { startRedis } from '../../../test/harness/index.js';
import type { RedisHandle } from '../../../test/harness/index.js';
import type { formatSchedules } from '../src/serve/commands.js';
import { startService } from '../src/serve/commands.js';
import type { SweepBundle } from '../src/sweep/sweep-file.js';
import { bundleSweepFile, loadSweepFile } from '../src/sweep/sweep-file.js';
import { runSweep } from '../src/sweep/sweep-run.js';
import { parseCoordinatorEnv } from '../src/env.js';

/** The environment as the CLI parses it, read when called (tests set REDIS_URL, S3_* first). */
const processEnv = () => parseCoordinatorEnv(process.env);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let redis: RedisHandle;
let dir: string;
const saved = { REDIS_URL: process.env['REDIS_URL'], FEDSIM_QUEUE_PREFIX: process.env['FEDSIM_QUEUE_PREFIX'] };

before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'fedsim-schedule-'));
  process.env['REDIS_URL'] = redis.url;
  process.env['FEDSIM_QUEUE_PREFIX'] = redis.prefix;
});
after(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function sweepBundle(name: string, rounds: number, axes: string): Promise<SweepBundle> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `name: ${name}\nbase: ${join(repo, 'configs/smoke-synthetic.yaml')}\nset: { rounds: ${rounds}, eval.every: ${rounds} }\naxes:\n${axes}concurrency: 2\n`);
  return bundleSweepFile(file);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the service owns schedules: firings start instances named by their time, a firing during a running instance is skipped and recorded, duplicates and missed firings are not run', async () => {
  const out = join(dir, 'svc');
  const store = new LocalDirBlobStore(out);
  const logs: string[] = [];
  const svc = await startService(
    { distributed: false, out, workers: 2, backend: 'wasm', misfireGrace: 600, fireConcurrency: 4, lockSeconds: 30 },
    processEnv(),
    (m) => logs.push(m),
  );
  const client = new ScheduleClient({ connection: redis.url, prefix: redis.prefix });
  try {
    // ~10 s of work fired every 4 s: the second firing finds the first instance running
    const long = await sweepBundle('tick', 8, '  - algorithm.name: [fedavg, fedper]\n  - seed: [1, 2]\n');
    const added = (await client.request({ op: 'add', schedule: { name: 'tick', cron: '*/4 * * * * *', tz: 'Europe/Berlin', policy: 'skip', payload: long } })) as ScheduleInfo;
    assert.equal(added.name, 'tick');
    assert.equal(added.tz, 'Europe/Berlin');
    assert.ok(added.next !== null && added.next > Date.now() - 1000);
    await assert.rejects(
      client.request({ op: 'add', schedule: { name: 'bad', cron: '* * * * *', tz: 'UTC', policy: 'skip', payload: { ...long, spec: { ...long.spec, axes: [{ 'train.lrate': [1] }] } } } }),
      /refused the request: [^]*train[^]*lrate/,
    );

    const firings = await until('a finished instance and a skipped firing', async () => {
      const f = await recentFirings(store, 'tick', 50);
      return f.some((x) => x.outcome === 'finished') && f.some((x) => x.outcome === 'skipped') ? f : undefined;
    });
    const removed = (await client.request({ op: 'remove', name: 'tick' })) as { removed: boolean };
    assert.equal(removed.removed, true);
    const listed = (await client.request({ op: 'list' })) as Parameters<typeof formatSchedules>[0];
    assert.deepEqual(listed.schedules, []);

    const finished = firings.find((f) => f.outcome === 'finished')!;
    assert.match(finished.instance, /^tick-\d{8}T\d{6}Z$/);
    assert.equal(finished.instance, `tick-${finished.scheduledAt.replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`);
    const sweep = (await readSweepRecord(store, finished.instance))!;
    assert.equal(sweep.runs.length, 4);
    assert.ok(sweep.runs.every((r) => r.runId.startsWith(`${finished.instance}.`)));
    for (const r of sweep.runs) assert.equal((await readRunStatus(store, r.runId))?.state, 'done');
    const skipped = firings.find((f) => f.outcome === 'skipped')!;
    assert.match(skipped.detail, /previous instance tick-\d{8}T\d{6}Z still running/);

    // BullMQ may deliver a firing twice; the same scheduled time is the same instance
    const again = await svc.service.fire({ schedule: 'tick', scheduledAt: Date.parse(finished.scheduledAt), policy: 'skip', payload: long });
    assert.deepEqual(again, { instance: finished.instance, outcome: 'duplicate' });
    // a firing handled an hour late (service was down) is recorded as missed, not run
    const late = await svc.service.fire({ schedule: 'tick', scheduledAt: Date.now() - 3_600_000, policy: 'skip', payload: long });
    assert.equal(late.outcome, 'missed');
    assert.equal(await readSweepRecord(store, late.instance), null);
  } finally {
    await client.close();
    await svc.close();
  }
});

test('with the queue policy a firing waits for the previous instance, then runs', async () => {
  const out = join(dir, 'queue');
  const store = new LocalDirBlobStore(out);
  const svc = await startService({ distributed: false, out, workers: 2, backend: 'wasm', misfireGrace: 600, fireConcurrency: 4, lockSeconds: 30 }, processEnv(), () => undefined);
  try {
    const small = await sweepBundle('q', 3, '  - seed: [1]\n');
    const t0 = Date.now();
    const [a, b] = await Promise.all([
      svc.service.fire({ schedule: 'q', scheduledAt: t0, policy: 'queue', payload: small }),
      new Promise((r) => setTimeout(r, 50)).then(() => svc.service.fire({ schedule: 'q', scheduledAt: t0 + 1000, policy: 'queue', payload: small })),
    ]);
    assert.equal(a.outcome, 'finished');
    assert.equal(b.outcome, 'finished');
    const firings: FiringRecord[] = await recentFirings(store, 'q', 10);
    assert.deepEqual(firings.map((f) => [f.instance, f.outcome]), [[b.instance, 'finished'], [a.instance, 'finished']]);
    const aDone = Date.parse(firings[1]!.at);
    const bSweep = (await readSweepRecord(store, b.instance))!;
    assert.ok(Date.parse(bSweep.createdAt) >= aDone, 'the queued instance started after the previous one finished');
  } finally {
    await svc.close();
  }
});

test('schedule commands fail clearly when no service answers', async () => {
  const client = new ScheduleClient({ connection: redis.url, prefix: `${redis.prefix}-nobody` });
  try {
    await assert.rejects(client.request({ op: 'list' }, 1500), (err: unknown) => err instanceof ScheduleServiceUnavailableError && /is 'fedsim serve' running/.test(err.message));
  } finally {
    await client.close();
  }
});

/** `fedsim serve` as a child process, as Kubernetes runs it. */
function serveProcess(out: string) {
  const child = spawn(
    process.execPath,
    ['--conditions=fedsim-source', '--import', 'tsx', join(repo, 'apps/coordinator/src/cli.ts'), 'serve', '--out', out, '--backend', 'wasm',
      '--workers', '2', '--lock-seconds', '2'],
    { cwd: repo, env: { ...process.env, REDIS_URL: redis.url, FEDSIM_QUEUE_PREFIX: `${redis.prefix}-kill` }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { child, exited, stderr: () => stderr };
}

async function commitsUnder(out: string, prefix: string): Promise<number> {
  let n = 0;
  for (const run of (await readdir(join(out, 'runs')).catch(() => [] as string[])).filter((r) => r.startsWith(prefix))) {
    for (const round of await readdir(join(out, 'runs', run, 'rounds')).catch(() => [] as string[])) {
      n += (await readdir(join(out, 'runs', run, 'rounds', round)).catch(() => [] as string[])).includes('commit.json') ? 1 : 0;
    }
  }
  return n;
}

test('a service killed (SIGKILL) during an instance resumes it after a restart; the final models equal an uninterrupted sweep', async () => {
  const out = join(dir, 'killed-service');
  const store = new LocalDirBlobStore(out);
  const file = join(dir, 'kr.yaml');
  await writeFile(file, `name: kr\nbase: ${join(repo, 'configs/smoke-synthetic.yaml')}\nset: { rounds: 6, eval.every: 3 }\naxes:\n  - algorithm.name: [fedavg, fedper]\n  - seed: [1, 2]\nconcurrency: 2\n`);
  const bundle = await bundleSweepFile(file);
  const reference = await runSweep(await loadSweepFile(file), { distributed: false, out: join(dir, 'kr-reference'), workers: 2, backend: 'wasm', quiet: true }, processEnv());

  const client = new ScheduleClient({ connection: redis.url, prefix: `${redis.prefix}-kill` });
  let svc = serveProcess(out);
  try {
    await client.request({ op: 'add', schedule: { name: 'kr', cron: '*/3 * * * * *', tz: 'UTC', policy: 'skip', payload: bundle } }, 60_000);
    const first = await until('the first instance to start', async () => (await recentFirings(store, 'kr', 20)).find((f) => f.outcome === 'started'));
    await client.request({ op: 'remove', name: 'kr' });
    await until('a few rounds of the instance', async () => ((await commitsUnder(out, first.instance)) >= 5 ? true : undefined));
    svc.child.kill('SIGKILL');
    await svc.exited;
    const before = await commitsUnder(out, first.instance);
    assert.ok(before < 24, `killed in the middle (${before} of 24 rounds)`);

    svc = serveProcess(out);
    const done = await until('the resumed instance to finish', async () =>
      (await recentFirings(store, 'kr', 20)).find((f) => f.instance === first.instance && f.outcome === 'finished'));
    assert.match(done.detail, /4 runs done, 0 failed/);
    const sweep = (await readSweepRecord(store, first.instance))!;
    const byValues = new Map(reference.runs.map((r) => [r.runId.replace(/^kr\./, ''), r.summary!.finalModelSha256]));
    for (const r of sweep.runs) {
      const status = await readRunStatus(store, r.runId);
      assert.equal(status?.finalModelSha256, byValues.get(r.runId.slice(first.instance.length + 1)), r.runId);
    }
    console.log(`service kill-and-resume: ${first.instance} killed with ${before}/24 rounds committed, resumed by the restarted service, final sha256s equal`);
  } finally {
    await client.close();
    svc.child.kill('SIGTERM');
    await svc.exited;
  }
});
