import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ExperimentConfig, RunObserver } from '@fedsim/runtime';
import { syntheticExperiment } from '../integration/fixtures.js';
import type { Fault } from './proxy.js';
import { runOnS3, startS3BehindProxy } from './s3-behind-proxy.js';
import type { S3BehindProxy } from './s3-behind-proxy.js';

/**
 * S3 faults during a run: each case turns a fault on in the middle of round 1 (when its first
 * client update is in S3, while other clients still have to read the model and write theirs)
 * and checks that the run ends with the same final model as without the fault, every round with
 * all of its clients, and that the job handlers logged the outage's start and end.
 */

const LONG = process.env['FEDSIM_LONG_TESTS'] === '1';
const LONG_ONLY = LONG ? {} : { skip: 'set FEDSIM_LONG_TESTS=1 (outages of 30-60 s)' };

let env: S3BehindProxy;
let cleanSha: string;
let cleanSeconds: number;
// Every client must succeed: a round committed with fewer clients would not fail the run
// but would change the final model, which the sha comparison catches anyway.
const config: ExperimentConfig = syntheticExperiment({
  rounds: 3,
  failures: { attempts: 2, minSuccessFraction: 1, roundDeadlineSeconds: 600 },
});

before(async () => {
  env = await startS3BehindProxy();
  const started = Date.now();
  const clean = await runOnS3(config, { runId: 'clean', env: env.env() });
  cleanSeconds = (Date.now() - started) / 1000;
  cleanSha = clean.finalModelSha256;
});

after(async () => {
  await env?.stop();
});

interface FaultRun {
  readonly sha: string;
  readonly clientsPerRound: number[];
  /** the job handlers' store log */
  readonly logs: string[];
  readonly coordinatorLogs: string[];
  readonly seconds: number;
}

/** Runs `runId` with `fault` on from the middle of round 1 for `forMs`. */
async function runWithFault(runId: string, fault: Fault, forMs: number, s3Env: Record<string, string> = {}): Promise<FaultRun> {
  const logs: string[] = [];
  const coordinatorLogs: string[] = [];
  const clientsPerRound: number[] = [];
  const cancel = env.injectMidRound(runId, 1, fault, forMs);
  const observer: RunObserver = {
    onRound(row) {
      clientsPerRound.push(row.succeeded);
    },
  };
  const started = Date.now();
  try {
    const summary = await runOnS3(config, {
      runId,
      env: env.env({ S3_OUTAGE_BUDGET_SECONDS: '120', ...s3Env }),
      observer,
      workerLog: (l) => logs.push(l),
      coordinatorLog: (l) => coordinatorLogs.push(l),
    });
    return { sha: summary.finalModelSha256, clientsPerRound, logs, coordinatorLogs, seconds: (Date.now() - started) / 1000 };
  } finally {
    cancel();
    await env.proxy.heal();
  }
}

function assertSurvived(run: FaultRun, minSeconds: number): void {
  assert.equal(run.sha, cleanSha, `final model equals the fault-free run's; logs:\n${run.logs.join('\n')}`);
  assert.deepEqual(run.clientsPerRound, [3, 3, 3], 'every round committed with all of its clients');
  assert.ok(run.seconds >= minSeconds, `the run waited out the fault (${run.seconds} s)`);
  assert.ok(run.logs.some((l) => /is failing/.test(l)), `the outage start is logged:\n${run.logs.join('\n')}`);
  assert.ok(run.logs.some((l) => /answers again after/.test(l)), `the outage end is logged:\n${run.logs.join('\n')}`);
  console.log(`# fault run took ${run.seconds.toFixed(1)} s (fault-free ${cleanSeconds.toFixed(1)} s)`);
}

test('S3 refusing connections for 2 s: the run completes with the fault-free model', async () => {
  assertSurvived(await runWithFault('down-2s', { kind: 'refuse' }, 2_000), 2);
});

test('S3 refusing connections for 10 s: the run completes with the fault-free model', async () => {
  assertSurvived(await runWithFault('down-10s', { kind: 'refuse' }, 10_000), 10);
});

test('an HTTP 503 storm for 5 s: the run completes with the fault-free model', async () => {
  assertSurvived(await runWithFault('storm-503', { kind: 'http-error', status: 503 }, 5_000), 5);
});

test('connections reset and transfers cut midway for 4 s: the run completes with the fault-free model', async () => {
  const cut = await runWithFault('cut', { kind: 'cut', afterBytes: 700 }, 4_000);
  assertSurvived(cut, 4);
  assert.ok(cut.logs.some((l) => /is failing \((ECONNRESET|connection cut|TruncatedBody)/.test(l)), cut.logs.join('\n'));
  assertSurvived(await runWithFault('reset', { kind: 'reset' }, 4_000), 4);
});

test('slow responses (every chunk 150 ms late for 8 s) complete without an outage', async () => {
  const delayedBefore = env.proxy.delayedChunks;
  const run = await runWithFault('slow', { kind: 'delay', ms: 150 }, 8_000);
  assert.equal(run.sha, cleanSha);
  assert.deepEqual(run.clientsPerRound, [3, 3, 3]);
  assert.ok(env.proxy.delayedChunks - delayedBefore > 10, `the delay hit the run's traffic (${env.proxy.delayedChunks - delayedBefore} chunks)`);
  assert.ok(!run.logs.some((l) => /is failing/.test(l)), `slow is not an outage:\n${run.logs.join('\n')}`);
});

test('S3 answering nothing (blackhole) for 6 s: timed-out calls are retried', async () => {
  // A 2 s request timeout makes a silent S3 a transient fault within the budget.
  const run = await runWithFault('silent', { kind: 'blackhole' }, 6_000, { S3_REQUEST_TIMEOUT_SECONDS: '2' });
  assertSurvived(run, 6);
});

test('S3 down for 60 s: the run completes with the fault-free model', LONG_ONLY, async () => {
  assertSurvived(await runWithFault('down-60s', { kind: 'refuse' }, 60_000), 60);
});

test('S3 down beyond the outage budget: the run stops naming the budget, and a re-run resumes', LONG_ONLY, async () => {
  const runId = 'beyond-budget';
  const started = Date.now();
  await assert.rejects(
    runWithFault(runId, { kind: 'refuse' }, 30_000, { S3_OUTAGE_BUDGET_SECONDS: '5' }),
    (err: unknown) => {
      const message = String((err as Error).message);
      assert.match(message, /S3_OUTAGE_BUDGET_SECONDS/);
      console.log(`# stopped with: ${message.split('\n').slice(0, 2).join(' | ').slice(0, 400)}`);
      return true;
    },
  );
  console.log(`# stopped after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const resumed = await runOnS3(config, { runId, env: env.env() });
  assert.equal(resumed.finalModelSha256, cleanSha, 'the re-run resumes and ends with the fault-free model');
});
