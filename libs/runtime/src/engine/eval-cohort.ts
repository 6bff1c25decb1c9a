import { derivedSeed } from '@fedsim/fl/algorithms';
import { clientData } from '@fedsim/fl/data';
import { isNonRetryable, NonRetryableError } from '../errors/non-retryable.js';
import type { ChildContext } from '../ports/transport.js';
import type { EvalCohortClientReply, EvalCohortPayload, EvalCohortReply, EvalPayload, EvalReply, StateRefs } from '../jobs/catalog.js';
import { decodeModel } from './blobs.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { keys } from './keys.js';
import { assertRefsInRun } from './reply-trust.js';
import type { RunContext } from './run-context.js';
import { loadState } from './client-state/pack.js';

/** One client's named evaluations of θ_g (and its state), as plain counts. */
async function evaluateOne(deps: JobHandlerDeps, rc: RunContext, round: number, global: Float32Array, clientId: number, refs: StateRefs): Promise<EvalReply['results']> {
  const split = rc.partition.clients[clientId];
  if (!split) throw new NonRetryableError(`eval job: client ${clientId} is not in run ${rc.record.runId}`);
  const results = await rc.hooks.evaluate({
    clientId,
    round,
    global,
    state: await loadState(deps.store, refs),
    train: clientData(rc.dataset, split.train),
    test: clientData(rc.dataset, split.test),
    seed: derivedSeed(rc.config.seed, 'finetune', round, clientId),
  });
  const plain: EvalReply['results'] = {};
  for (const [name, r] of Object.entries(results)) plain[name] = { correct: r.correct, total: r.total, lossSum: r.lossSum };
  return plain;
}

/** An `eval` job: one client. */
export async function evaluateClient(deps: JobHandlerDeps, p: EvalPayload): Promise<EvalReply> {
  const started = performance.now();
  assertRefsInRun('eval', p.runId, p.state);
  const rc = await deps.contexts.get(p.runId);
  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), rc.model.spec);
  const results = await evaluateOne(deps, rc, p.round, global, p.clientId, p.state);
  return { results, seconds: (performance.now() - started) / 1000, backend: deps.backend };
}

/**
 * An `evalCohort` job: its clients evaluated one after another with θ_g fetched once and the run's
 * model and data resident. A client whose evaluation throws is that client's failure (failures are
 * data); its cohort-mates carry on and the job is not retried for it.
 */
export async function evaluateCohort(deps: JobHandlerDeps, p: EvalCohortPayload, ctx: ChildContext): Promise<EvalCohortReply> {
  const started = performance.now();
  // A payload naming another run's blobs is refused whole, before any work, as an `eval` job is.
  for (const c of p.clients) assertRefsInRun('eval', p.runId, c.state);
  const rc = await deps.contexts.get(p.runId);
  const global = decodeModel(await deps.store.get(keys.global(p.runId, p.round)), rc.model.spec);
  const replies: EvalCohortClientReply[] = [];
  for (const c of p.clients) {
    // A cancelled job (deadline, shutdown) stops here; its outcome is the job's, not the clients'.
    ctx.signal?.throwIfAborted();
    try {
      replies.push({ clientId: c.clientId, ok: true, results: await evaluateOne(deps, rc, p.round, global, c.clientId, c.state) });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      replies.push({ clientId: c.clientId, ok: false, code: isNonRetryable(err) ? 'bad_input' : 'error', detail: err instanceof Error ? err.message : String(err) });
    }
  }
  return { clients: replies, seconds: (performance.now() - started) / 1000, backend: deps.backend };
}
