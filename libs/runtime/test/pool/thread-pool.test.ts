import assert from 'node:assert/strict';
import { test } from 'node:test';
import { threadId as mainThreadId } from 'node:worker_threads';
import { isNonRetryable } from '../../src/errors/index.js';
import { ThreadPoolClosedError, ThreadPoolHandlers } from '../../src/pool/index.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';
import type { EchoReply, PoolTestOp } from './fixtures/pool-entry.js';

const entry = new URL('./fixtures/pool-entry.ts', import.meta.url);
const ctx = (jobId: string, attempt = 1, signal?: AbortSignal) => ({ jobId, attempt, ...(signal ? { signal } : {}) });
const run = (pool: ThreadPoolHandlers<UntypedJobs>, op: PoolTestOp, jobId = 'j', signal?: AbortSignal) =>
  pool.runChild('train', op, ctx(jobId, 1, signal));

test('ThreadPoolHandlers: a .ts entry loads in worker threads once per thread and gets workerData and the job context', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 2, workerData: { shard: 7 } });
  try {
    const replies = (await Promise.all(Array.from({ length: 8 }, (_, i) =>
      pool.runChild('eval', { op: 'echo' }, ctx(`job-${i}`, 3))))) as EchoReply[];
    for (const [i, r] of replies.entries()) {
      assert.notEqual(r.threadId, mainThreadId);
      assert.equal(r.loads, 1, 'createHandlers ran more than once in a thread');
      assert.deepEqual(r.workerData, { shard: 7 });
      assert.equal(r.attempt, 3);
      assert.equal(r.jobId, `job-${i}`);
      assert.equal(r.kind, 'eval');
    }
    assert.ok(new Set(replies.map((r) => r.threadId)).size <= 2);
    const parent = await pool.runParent('aggregate', null, [{ id: 'a', ok: true, value: 1 }, { id: 'b', ok: false, code: 'error', error: 'x' }]);
    assert.deepEqual((parent as { ids: string[] }).ids, ['a', 'b']);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: at most `size` jobs run at once and the event loop stays free while they compute', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 2 });
  try {
    await pool.ready();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const jobs = Array.from({ length: 4 }, (_, i) => run(pool, { op: 'spin', ms: 150 }, `s${i}`));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(pool.stats(), { size: 2, threads: 2, busy: 2, queued: 2 });
    const replies = (await Promise.all(jobs)) as { threadId: number }[];
    clearInterval(ticker);
    assert.ok(ticks > 0, 'the main event loop did not run while threads computed');
    assert.equal(new Set(replies.map((r) => r.threadId)).size, 2);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: a non-retryable error stays non-retryable across the thread boundary; others do not become so', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 1 });
  try {
    for (const op of ['throwNonRetryable', 'throwDataError'] as const) {
      await assert.rejects(run(pool, { op, message: `bad payload (${op})` }), (err: unknown) => {
        assert.ok(isNonRetryable(err), `${op}: ${String(err)}`);
        assert.equal((err as Error).message, `bad payload (${op})`);
        return true;
      });
    }
    await assert.rejects(run(pool, { op: 'throw', message: 'flaky disk' }), (err: unknown) => !isNonRetryable(err));
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: a handler that throws synchronously fails its job, not its thread', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 1 });
  try {
    const before = ((await run(pool, { op: 'echo' })) as EchoReply).threadId;
    await assert.rejects(pool.runParent('aggregate', { throwSync: 'invalid aggregate job payload' }, []), (err: unknown) => {
      assert.ok(isNonRetryable(err), String(err));
      assert.match((err as Error).message, /invalid aggregate job payload/);
      return true;
    });
    assert.equal(((await run(pool, { op: 'echo' })) as EchoReply).threadId, before, 'the same thread serves the next job');
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: a job error rejects that job with the original name and message; the pool keeps working', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 1 });
  try {
    await assert.rejects(run(pool, { op: 'throw', message: 'shard 3 is corrupt' }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'TypeError');
      assert.equal(err.message, 'shard 3 is corrupt');
      return true;
    });
    assert.equal(((await run(pool, { op: 'echo' })) as EchoReply).loads, 1);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: a crashed thread rejects only its job and is replaced', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 2 });
  try {
    const other = run(pool, { op: 'spin', ms: 100 }, 'bystander');
    await assert.rejects(run(pool, { op: 'crash', code: 3 }, 'doomed'), /train job doomed: compute thread exited with code 3/);
    await other;
    const after = (await Promise.all([run(pool, { op: 'echo' }), run(pool, { op: 'echo' })])) as EchoReply[];
    assert.ok(after.every((r) => r.loads === 1));
    assert.equal(pool.stats().threads, 2);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: aborting a job signals it in its thread; a job deaf to aborts loses its thread after the grace period', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 1, abortGraceMs: 100 });
  try {
    await pool.ready();
    const polite = new AbortController();
    const waiting = run(pool, { op: 'waitForAbort' }, 'polite', polite.signal);
    await new Promise((r) => setTimeout(r, 50));
    polite.abort(new Error('deadline'));
    await assert.rejects(waiting, /stopped: deadline/);

    const deaf = new AbortController();
    const spinning = run(pool, { op: 'spin', ms: 60_000 }, 'deaf', deaf.signal);
    const queued = run(pool, { op: 'echo' }, 'next');
    await new Promise((r) => setTimeout(r, 50));
    deaf.abort(new Error('deadline'));
    await assert.rejects(spinning, (err: unknown) => (err as Error).name === 'AbortError' && /deaf aborted: deadline/.test((err as Error).message));
    assert.equal(((await queued) as EchoReply).loads, 1, 'the queued job ran on a fresh thread');

    const early = new AbortController();
    early.abort(new Error('too late'));
    await assert.rejects(run(pool, { op: 'echo' }, 'early', early.signal), /aborted: too late/);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: an entry without createHandlers fails ready() and its jobs with a message naming the entry', async () => {
  const bad = new URL('./fixtures/no-handlers-entry.ts', import.meta.url);
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry: bad, size: 1 });
  try {
    await assert.rejects(pool.ready(), /no-handlers-entry\.ts does not export createHandlers/);
    await assert.rejects(run(pool, { op: 'echo' }), /no-handlers-entry\.ts does not export createHandlers/);
  } finally {
    await pool.close();
  }
});

test('ThreadPoolHandlers: close rejects queued jobs and later submissions', async () => {
  const pool = new ThreadPoolHandlers<UntypedJobs>({ entry, size: 1, closeTimeoutMs: 2_000 });
  await pool.ready();
  const running = run(pool, { op: 'spin', ms: 100 }, 'running');
  const queued = assert.rejects(run(pool, { op: 'echo' }, 'queued'), ThreadPoolClosedError);
  await new Promise((r) => setTimeout(r, 20));
  await pool.close();
  await running;
  await queued;
  await assert.rejects(run(pool, { op: 'echo' }), ThreadPoolClosedError);
});
