import type { ChildOutcome } from '../ports/transport.js';
import type { ClientFailure, EvalStats, EvalSummary, EvalSummaryPayload } from '../jobs/catalog.js';
import { evalClientResults } from './eval-results.js';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { encodeJson } from './json-blobs.js';
import { keys } from './keys.js';
import { forgedEvalCounts } from './reply-trust.js';
import { assertNoStorageFailures } from './storage-failures.js';

interface Counts {
  correct: number;
  total: number;
  lossSum: number;
}

/** Pooled accuracy (all predictions together) and mean/std/min/max of per-client accuracy. */
export function evalStats(perClient: readonly Counts[]): EvalStats {
  const withData = perClient.filter((c) => c.total > 0);
  const correct = withData.reduce((s, c) => s + c.correct, 0);
  const total = withData.reduce((s, c) => s + c.total, 0);
  const lossSum = withData.reduce((s, c) => s + c.lossSum, 0);
  const accs = withData.map((c) => c.correct / c.total);
  const mean = accs.length ? accs.reduce((s, a) => s + a, 0) / accs.length : 0;
  const variance = accs.length ? accs.reduce((s, a) => s + (a - mean) ** 2, 0) / accs.length : 0;
  return {
    pooledAccuracy: total ? correct / total : 0,
    pooledLoss: total ? lossSum / total : 0,
    mean,
    std: Math.sqrt(variance),
    min: accs.length ? Math.min(...accs) : 0,
    max: accs.length ? Math.max(...accs) : 0,
    clients: withData.length,
    samples: total,
  };
}

export async function summarizeEvaluation(
  deps: JobHandlerDeps,
  p: EvalSummaryPayload,
  outcomes: readonly ChildOutcome[],
): Promise<EvalSummary> {
  const { partition } = await deps.contexts.get(p.runId);
  const failures: ClientFailure[] = [];
  const byName = new Map<string, Counts[]>();
  const perClient: EvalSummary['perClient'] = {};
  const delivered = evalClientResults(p, outcomes);
  for (const clientId of new Set(p.clients)) {
    const r = delivered.get(clientId)!;
    if (!r.ok) {
      failures.push({ clientId, kind: 'eval', code: r.code, detail: r.detail });
      continue;
    }
    // Counts are believed only for the client's whole test split (else accuracy could pass 100 %).
    const forged = forgedEvalCounts(clientId, partition.clients[clientId]?.test.length ?? 0, r);
    if (forged) {
      failures.push({ clientId, kind: 'eval', code: 'forged', detail: forged });
      continue;
    }
    const accs: Record<string, number> = {};
    for (const [name, counts] of Object.entries(r.results)) {
      const list = byName.get(name) ?? [];
      list.push(counts);
      byName.set(name, list);
      accs[name] = counts.total ? counts.correct / counts.total : 0;
    }
    perClient[String(clientId)] = accs;
  }
  assertNoStorageFailures(`evaluation of round ${p.round}`, failures);
  const results: EvalSummary['results'] = {};
  for (const [name, list] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) results[name] = evalStats(list);
  const summary: EvalSummary = { round: p.round, results, perClient, failures };
  await deps.store.put(keys.evalSummary(p.runId, p.round), encodeJson(summary));
  return summary;
}
