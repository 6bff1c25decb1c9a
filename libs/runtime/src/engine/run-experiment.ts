import { createHash } from 'node:crypto';
import { clientsPerRound } from '@fedsim/fl/algorithms';
import type { AlgorithmHooks } from '@fedsim/fl/algorithms';
import { decodePartition, encodePartition, labelCountTable } from '@fedsim/fl/data';
import type { Partition } from '@fedsim/fl/data';
import { specFingerprint } from '@fedsim/fl';
import type { ExperimentConfig } from '../config/experiment.js';
import { loadDataset, partitionFor } from '../data/index.js';
import type { LoadDatasetOptions } from '../data/index.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { FlowTransport } from '../ports/transport.js';
import { formatIssues } from '@fedsim/fl/util';
import { ConfigError, RunFailedError } from '../errors/run.js';
import type { AggregatePayload, ClientFailure, CommitRecord, EvalSummary, EvalSummaryPayload, StateShardTable } from '../jobs/catalog.js';
import { commitRecordSchema, evalSummarySchema, flowPolicy, parseJob, parseReply, runIdSchema } from '../jobs/catalog.js';
import { countByCode } from '../jobs/failures.js';
import { decodeModel, encodeModel } from './blobs.js';
import { decodeJson, encodeJson } from './json-blobs.js';
import { keys } from './keys.js';
import { prepareRound } from './prepare-round.js';
import { cohortSizeFor, roundJobs } from './round-jobs.js';
import { evalJobs } from './eval-jobs.js';
import type { RunContext } from './run-context.js';
import { algorithmFor, modelFor } from './run-context.js';
import type { RunRecord } from './run-record.js';
import { configHash, parseRunRecord } from './run-record.js';
import type { RunObserver } from './observers.js';
import type { RoundRow, RunSummary } from './results.js';
import { flowIdOf, newRunNonce } from './flow-ids.js';
import { runRoundFlow } from './round-flow.js';
import { isEvalRound, roundRow } from './round-row.js';
import { emptyShardTable, StateChanges, stateRefsFor, writeStateShards } from './client-state/shards.js';
import { assertCurrentCommitFormat } from './client-state/legacy.js';
import { collectGarbage, gcAfterCommit } from './gc/collect.js';
import { failedRoundAttempts, recordFailedRoundAttempt } from './round-attempts.js';
import { roundSchedule } from '../system/round-schedule.js';
import { stalenessSummary, virtualTotals, withVirtualTime } from '../system/round-fields.js';
import { assertFedBuffRuns, keepsClientState } from '../system/fedbuff-plan.js';
import { fedBuffJobs } from '../system/fedbuff-jobs.js';
import { dispatchesFrom, prepareDispatches } from '../system/fedbuff-dispatch.js';

export type { RunObserver } from './observers.js';

export interface RunOptions {
  readonly runId: string;
  readonly store: BlobStore;
  readonly transport: FlowTransport;
  readonly observer?: RunObserver;
  /** `resume` continues a run with the same id and config; `fresh` refuses an existing run id */
  readonly existing?: 'resume' | 'fresh';
  /** where data sets live (the app's FEDSIM_DATA_DIR) */
  readonly data?: LoadDatasetOptions;
  /** queue priority of this run's jobs (FlowSpec.priority); unset for single runs */
  readonly priority?: number;
}

export { RunFailedError };

/**
 * Drives a run round by round: writes the run record, partition and θ_g^0 once, then for each
 * round queues one flow (train children + aggregate parent) and, on evaluation rounds, one
 * evaluation flow. Everything durable lives in the blob store, so a stopped run resumes at the
 * first uncommitted round.
 */
export async function runExperiment(config: ExperimentConfig, opts: RunOptions): Promise<RunSummary> {
  const { store, transport, runId } = opts;
  const obs = opts.observer ?? {};
  // Checked before any work: every job would refuse the id after the clients trained.
  const validRunId = runIdSchema.safeParse(runId);
  if (!validRunId.success) throw new ConfigError(`run id '${runId.length > 40 ? `${runId.slice(0, 40)}…` : runId}': ${formatIssues(validRunId.error)}`);
  const dataset = await loadDataset(config.data, opts.data);
  const model = modelFor(config, dataset);
  const numClients = config.partition.numClients;
  const { hooks, env, uploadSpec } = algorithmFor(config, model, numClients);
  const perRound = clientsPerRound(numClients, config.joinRatio);
  assertFedBuffRuns(config);

  const existingRecord = (await store.exists(keys.run(runId)))
    ? parseRunRecord(await store.get(keys.run(runId)), keys.run(runId))
    : null;
  let record: RunRecord;
  let partition: Partition;
  if (existingRecord) {
    if (opts.existing === 'fresh') {
      throw new RunFailedError(`run '${runId}' already exists in ${store.describe()}; choose another --run-id or resume it`);
    }
    if (existingRecord.configHash !== configHash(config)) {
      throw new RunFailedError(
        `run '${runId}' exists with a different config (hash ${existingRecord.configHash}, this one ${configHash(config)}); ` +
          `use another --run-id to start a new run`,
      );
    }
    record = existingRecord;
    partition = decodePartition(await store.get(keys.partition(runId))).partition;
  } else {
    partition = partitionFor(dataset, config.partition, config.seed);
    await store.put(keys.partition(runId), encodePartition(partition, { runId }, labelCountTable(partition, dataset.labels, dataset.numClasses)));
    record = {
      runId,
      configHash: configHash(config),
      config,
      numClients,
      specFingerprint: specFingerprint(model.spec),
      createdAt: new Date().toISOString(),
      nonce: newRunNonce(),
    };
    await store.put(keys.global(runId, 0), encodeModel(model.spec, model.init(config.seed), { round: 0 }));
  }
  const rc: RunContext = { record, config, model, env, hooks, uploadSpec, dataset, partition };
  const testSamplesOf = (clientId: number) => partition.clients[clientId]?.test.length ?? 0;
  // The run's only sampling: each round's clients, also handed to the aggregation that prepares them.
  const { clients: schedule, plans, fedbuff } = await roundSchedule({
    store, runId, config, partition, perRound, modelSpec: model.spec, uploadSpec, algorithm: hooks,
    statefulClients: keepsClientState(hooks, model.spec),
  });

  // Resume point: the first round without a commit record.
  let round = 0;
  const commits: CommitRecord[] = [];
  while (round < config.rounds && (await store.exists(keys.commit(runId, round)))) {
    const raw = decodeJson(await store.get(keys.commit(runId, round)));
    assertCurrentCommitFormat(raw, runId, round);
    commits.push(parseJob(commitRecordSchema, raw, `commit of round ${round}`));
    round++;
  }
  const last = commits.at(-1) ?? null;
  let stateShards = last?.stateShards ?? emptyShardTable(numClients);
  // What the server prepared for the round about to run (FedOBP patches, ...), for its row.
  let preparedReports: Record<string, unknown> = last?.prepareReports ?? {};
  if (round === 0) {
    // Round 0's instructions come from the coordinator; later rounds' from the previous
    // aggregation. Deterministic, so redoing it after a crash rewrites identical bytes.
    const global0 = decodeModel(await store.get(keys.global(runId, 0)), model.spec);
    const changes = new StateChanges();
    const prepared = fedbuff
      ? await prepareDispatches(store, rc, 0, dispatchesFrom(fedbuff, 0), global0, stateShards, changes)
      : await prepareRound(store, rc, 0, schedule[0] ?? [], global0, stateShards, changes);
    preparedReports = prepared.reports;
    stateShards = await writeStateShards(store, runId, -1, stateShards, changes);
  }
  // Written last: a run record means the run's inputs are all in place.
  if (!existingRecord) await store.put(keys.run(runId), encodeJson(record));

  // A coordinator stopped after a commit but before that round's evaluation finished: evaluate now,
  // so the round's row and the run's final results are those of the model it committed.
  const lostEval = last && isEvalRound(last.round, config) ? keys.evalSummary(runId, last.round + 1) : null;
  if (last && lostEval && !(await store.exists(lostEval))) {
    const summary = await evaluateAll(config, { ...opts, observer: {} }, hooks, last.round + 1, last.stateShards, testSamplesOf, numClients, record);
    // A transport may answer a re-submitted flow from its record of the first run without
    // re-running the job that writes the summary; the same bytes either way.
    if (!(await store.exists(lostEval))) await store.put(lostEval, encodeJson(summary));
  }
  const committed: RoundRow[] = [];
  for (const c of commits) {
    const evalKey = keys.evalSummary(runId, c.round + 1);
    const evaluation = (await store.exists(evalKey)) ? parseJob(evalSummarySchema, decodeJson(await store.get(evalKey)), evalKey) : undefined;
    // wall time is not recorded in the store: 0 for rounds this process did not run
    committed.push(withVirtualTime(roundRow(c, schedule[c.round] ?? [], commits[c.round - 1]?.prepareReports ?? {}, evaluation, 0), plans));
  }

  await obs.onStart?.({ runId, resumedFrom: existingRecord ? round : null, committed, numClients, perRound, rounds: config.rounds });
  const labels = metricLabels(config);

  for (; round < config.rounds; round++) {
    const started = performance.now();
    const clients = schedule[round] ?? [];
    obs.onRoundStart?.(round, clients);
    const state = await stateRefsFor(store, runId, stateShards, clients);
    // FedBuff: the round is one buffer flush, its jobs the step's arrivals (fedbuff-jobs.ts)
    const { children, cohorts, fedbuff: arrivals }: ReturnType<typeof roundJobs> & Partial<ReturnType<typeof fedBuffJobs>> = fedbuff?.[round]
      ? fedBuffJobs(rc, round, fedbuff, state, labels)
      : roundJobs(rc, round, clients, state, labels);
    const attempt = await failedRoundAttempts(store, runId, round);
    const aggregate: AggregatePayload = {
      runId,
      labels,
      round,
      clients,
      nextClients: schedule[round + 1] ?? [],
      previousStateShards: stateShards,
      ...(cohorts ? { cohorts } : {}),
      ...(arrivals ? { fedbuff: arrivals } : {}),
      attempt,
    };
    const reply = parseReply(
      'aggregate',
      await runRoundFlow(transport, rc, {
        flowId: flowIdOf(record, 'train', round, attempt),
        aggregate,
        children,
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      }),
      `aggregation result of round ${round}`,
    );
    if (reply.status === 'failed') {
      await recordFailedRoundAttempt(store, runId, round, attempt);
      const detail = reply.failures.map((f) => `client ${f.clientId}: ${f.code}: ${f.detail}`).join('\n  ');
      throw new RunFailedError(`round ${round} failed: ${reply.reason}\n  ${detail}\n`
        + `running the run again trains round ${round} again (attempt ${attempt + 2}) and resumes`);
    }
    stateShards = reply.stateShards;
    const reportsOfThisRound = preparedReports;
    preparedReports = reply.prepareReports;

    const evaluation = isEvalRound(round, config)
      ? await evaluateAll(config, opts, hooks, round + 1, stateShards, testSamplesOf, numClients, record)
      : undefined;
    await obs.onRound?.(withVirtualTime(roundRow(reply, clients, reportsOfThisRound, evaluation, (performance.now() - started) / 1000), plans));
    // after the round's evaluation and row: nothing of this round is read again but what gc keeps
    if (gcAfterCommit(config)) await collectGarbage(store, runId);
  }

  const finalKey = keys.global(runId, config.rounds);
  const finalBytes = await store.get(finalKey);
  // Every evaluation of the run, including those before a resume, from the store.
  const evals: { round: number; summary: EvalSummary }[] = [];
  for (const key of await store.list(keys.evalsPrefix(runId))) {
    const summary = parseJob(evalSummarySchema, decodeJson(await store.get(key)), key);
    if (summary.round <= config.rounds) evals.push({ round: summary.round, summary });
  }
  evals.sort((a, b) => a.round - b.round);
  // Failures of every round, including those committed before a resume, from the commit records.
  const failures: ClientFailure[] = [];
  for (let r = 0; r < config.rounds; r++) {
    failures.push(...parseJob(commitRecordSchema, decodeJson(await store.get(keys.commit(runId, r))), `commit of round ${r}`).failures);
  }
  const summary = summarize(runId, config, finalKey, finalBytes, evals, failures);
  if (!plans) return summary;
  return { ...summary, ...virtualTotals(plans), ...(fedbuff ? { staleness: stalenessSummary(fedbuff) } : {}) };
}

export const metricLabels = (config: ExperimentConfig) => ({ experiment: config.name, algorithm: config.algorithm.name });

async function evaluateAll(
  config: ExperimentConfig,
  opts: RunOptions,
  hooks: Pick<AlgorithmHooks, 'poolOf'>,
  modelRound: number,
  stateShards: StateShardTable,
  testSamplesOf: (clientId: number) => number,
  numClients: number,
  record: Pick<RunRecord, 'runId' | 'nonce'>,
): Promise<EvalSummary> {
  const { store, transport, runId } = opts;
  const clients = Array.from({ length: numClients }, (_, i) => i);
  const state = await stateRefsFor(store, runId, stateShards, clients);
  opts.observer?.onEvalStart?.(modelRound, clients.length);
  const labels = metricLabels(config);
  const { children, cohorts } = evalJobs({
    runId, labels, round: modelRound, clients, state, testSamplesOf,
    cohortSize: cohortSizeFor({ config }, numClients),
    ...(hooks.poolOf ? { poolOf: (clientId: number) => hooks.poolOf!(clientId) } : {}),
  });
  const parent: EvalSummaryPayload = { runId, labels, round: modelRound, clients, ...(cohorts ? { cohorts } : {}) };
  return parseReply(
    'evalSummary',
    await transport.runFlow({
      flowId: flowIdOf(record, 'eval', modelRound),
      parent: { kind: 'evalSummary', payload: parent },
      children,
      ...flowPolicy(cohorts ? 'evalCohort' : 'eval', 'evalSummary', config.failures),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
    }),
    `evaluation summary after round ${modelRound}`,
  );
}

function summarize(
  runId: string,
  config: ExperimentConfig,
  finalModelKey: string,
  finalBytes: Uint8Array,
  evals: readonly { round: number; summary: EvalSummary }[],
  failures: readonly ClientFailure[],
): RunSummary {
  const best = evals.reduce<{ round: number; accuracy: number } | null>((b, e) => {
    const acc = e.summary.results['personalized']?.pooledAccuracy;
    return acc !== undefined && (!b || acc > b.accuracy) ? { round: e.round, accuracy: acc } : b;
  }, null);
  const final = evals.at(-1);
  return {
    runId,
    experiment: config.name,
    algorithm: config.algorithm.name,
    rounds: config.rounds,
    finalModelKey,
    finalModelSha256: createHash('sha256').update(finalBytes).digest('hex'),
    bestPersonalized: best,
    final: final ? { round: final.round, results: final.summary.results } : null,
    failures: countByCode(failures),
  };
}
