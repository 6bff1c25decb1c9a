import { formatIssues } from '@fedsim/fl/util';
import { InvalidJobError } from '../errors/non-retryable.js';
import type { ChildOutcome } from '../ports/transport.js';
import type { AggregatePayload, ReduceReply } from '../jobs/catalog.js';
import { reduceReplySchema } from '../jobs/catalog.js';
import { clientResults, cohortJobId } from './client-results.js';
import type { ClientResult, RoundResults } from './client-results.js';
import { keys } from './keys.js';
import { cohortPartialSource } from './partial-sources.js';
import type { PartialSource, Refusal } from './partial-sources.js';

export interface TreeRound {
  readonly results: RoundResults;
  /** what the aggregation reads, in order: one reduced partial per group, and the refused cohort partials (not read) */
  readonly sources: readonly PartialSource[];
  readonly reduceJobs: number;
  readonly maxPerReduceJob: number;
  readonly maxReduceSeconds: number;
}

/** Groups of `fanIn` consecutive cohorts: the tree's first level. */
export function reduceGroups<T>(cohorts: readonly T[], fanIn: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < cohorts.length; i += fanIn) groups.push(cohorts.slice(i, i + fanIn));
  return groups;
}

/**
 * A tree round as the aggregation sees it: every client's result from the cohort outcomes the
 * reduce jobs passed on, and one partial per group to read. The reduce jobs are believed only
 * where the run can check them: a reduced partial's key must be the one the run assigns its
 * group; the cohorts it says it summed or refused must be exactly those whose replies name a
 * partial; a sum that took in a partial the run refuses (a forged key, a miscounted client) is
 * refused whole; and its weight and client count are checked when it is read.
 */
export function treeRound(
  p: AggregatePayload,
  run: { readonly runId: string; readonly round: number; readonly attempts: number },
  weightOf: (clientId: number) => number,
  samplesOf: (clientId: number) => number,
): TreeRound {
  const { tree, cohorts } = p;
  if (!tree || !cohorts) throw new InvalidJobError('aggregate job: a tree round needs its cohorts and reductions');
  const groups = reduceGroups(cohorts, tree.fanIn);
  if (tree.reductions.length !== groups.length) {
    throw new InvalidJobError(`aggregate job: ${tree.reductions.length} reductions for ${groups.length} groups of ${tree.fanIn} cohorts`);
  }
  const outcomes: ChildOutcome[] = [];
  const replies: (ReduceReply | null)[] = [];
  const groupFailures = new Map<number, Refusal>();
  groups.forEach((members, g) => {
    const first = g * tree.fanIn;
    const fail = (refusal: Refusal) => {
      groupFailures.set(g, { code: refusal.code, detail: `reduce of cohorts ${first}-${first + members.length - 1}: ${refusal.detail}` });
      replies.push(null);
    };
    const o = tree.reductions[g]!;
    if (!o.ok) return fail({ code: o.code, detail: o.error });
    const parsed = reduceReplySchema.safeParse(o.value);
    if (!parsed.success) return fail({ code: 'malformed', detail: formatIssues(parsed.error) });
    const ids = parsed.data.outcomes.map((c) => c.id);
    const expected = members.map((_, i) => cohortJobId(first + i));
    if (ids.join() !== expected.join()) return fail({ code: 'malformed', detail: `passes on outcomes ${ids.join(',')}, expected ${expected.join(',')}` });
    outcomes.push(...parsed.data.outcomes);
    replies.push(parsed.data);
  });

  const base = clientResults(p, outcomes);
  const byClient = new Map<number, ClientResult>(base.byClient);
  for (const [g, refusal] of groupFailures) {
    for (const clientId of groups[g]!.flat()) byClient.set(clientId, { clientId, ok: false, code: refusal.code, detail: refusal.detail });
  }
  const results: RoundResults = { ...base, byClient };

  const sources: PartialSource[] = [];
  groups.forEach((members, g) => {
    const reply = replies[g];
    if (!reply) return;
    const first = g * tree.fanIn;
    const refs = results.partials.filter((r) => r.cohort >= first && r.cohort < first + members.length);
    const own = new Map(refs.map((r) => [r.cohort, cohortPartialSource(r, run, results.byClient, weightOf, samplesOf)]));
    const label = `reduce ${g}'s partial`;
    const refuseAll = (refusal: Refusal) => {
      for (const s of own.values()) sources.push({ ...s, refused: s.refused ?? { code: refusal.code, detail: `${label}: ${refusal.detail}` } });
    };
    const claimed = [...reply.summed, ...reply.refused.map((r) => r.cohort)].sort((a, b) => a - b);
    if (claimed.join() !== [...own.keys()].join()) {
      return refuseAll({ code: 'malformed', detail: `accounts for cohorts ${claimed.join(',')}, their replies name partials of cohorts ${[...own.keys()].join(',')}` });
    }
    for (const r of reply.refused) {
      const s = own.get(r.cohort)!;
      sources.push({ ...s, refused: s.refused ?? { code: r.code, detail: r.detail } });
    }
    if (reply.summed.length === 0) return;
    const summed = reply.summed.map((c) => own.get(c)!);
    const bad = summed.find((s) => s.refused);
    const clients = summed.flatMap((s) => s.clients);
    const source = { label, key: reply.partialKey ?? '', clients, weight: summed.reduce((w, s) => w + s.weight, 0) };
    const expectedKey = keys.reduced(run.runId, run.round, g);
    let refused: Refusal | null = null;
    if (bad) refused = { code: bad.refused!.code, detail: `sums ${bad.label}: ${bad.refused!.detail}` };
    else if (reply.partialKey === null) refused = { code: 'malformed', detail: `sums cohorts ${reply.summed.join(',')} but names no partial` };
    else if (reply.partialKey !== expectedKey) {
      refused = { code: 'forged', detail: `partial key ${reply.partialKey} is not ${expectedKey}, the sum of run ${run.runId}, round ${run.round}, group ${g}` };
    }
    sources.push({ ...source, refused });
  });
  const done = replies.filter((r): r is ReduceReply => r !== null);
  return {
    results,
    sources,
    reduceJobs: done.length,
    maxPerReduceJob: Math.max(0, ...done.map((r) => r.partialsRead)),
    maxReduceSeconds: Math.max(0, ...done.map((r) => r.seconds)),
  };
}
