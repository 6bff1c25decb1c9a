import type { ChildOutcome } from '../ports/transport.js';
import type { ClientFailure, EvalStats, EvalSummary, EvalSummaryPayload } from '../jobs/catalog.js';
import { evalReplySchema } from '../jobs/catalog.js';
import { formatIssues } from '@fedsim/fl/util';
import type { JobHandlerDeps } from './job-handler-deps.js';
import { encodeJson } from './json-blobs.js';
import { keys } from './keys.js';

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
  const failures: ClientFailure[] = [];
  const byName = new Map<string, Counts[]>();
  const perClient: EvalSummary['perClient'] = {};
  for (const o of outcomes) {
    const clientId = Number(o.id);
    if (!o.ok) {
      failures.push({ clientId, kind: 'eval', code: o.code, detail: o.error });
      continue;
    }
    const reply = evalReplySchema.safeParse(o.value);
    if (!reply.success) {
      failures.push({ clientId, kind: 'eval', code: 'malformed', detail: formatIssues(reply.error) });
      continue;
    }
    const accs: Record<string, number> = {};
    for (const [name, counts] of Object.entries(reply.data.results)) {
      const list = byName.get(name) ?? [];
      list.push(counts);
      byName.set(name, list);
      accs[name] = counts.total ? counts.correct / counts.total : 0;
    }
    perClient[o.id] = accs;
  }
  const results: EvalSummary['results'] = {};
  for (const [name, list] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) results[name] = evalStats(list);
  const summary: EvalSummary = { round: p.round, results, perClient, failures };
  await deps.store.put(keys.evalSummary(p.runId, p.round), encodeJson(summary));
  return summary;
}
