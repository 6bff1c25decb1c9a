import { FlowFailedError } from '../errors/transport.js';
import type { FlowChild, FlowTransport } from '../ports/transport.js';
import type { AggregatePayload, ReducePayload } from '../jobs/catalog.js';
import { flowPolicy } from '../jobs/catalog.js';
import type { RunContext } from './run-context.js';
import { reduceGroups } from './tree-round.js';

/** Partials one aggregation job reads at most when `reduceFanIn` is automatic. */
const AUTO_REDUCE_FAN_IN = 64;

/**
 * The fan-in of a round's tree, or null for no tree: only cohorts that write partials are
 * reduced, and only when there are more of them than the fan-in. The tree has one level of reduce
 * jobs; past fanIn² partials the fan-in grows to ⌈√partials⌉, so neither a reduce job nor the
 * aggregation reads more than that.
 */
export function reduceFanInFor(rc: Pick<RunContext, 'config' | 'hooks'>, partials: number): number | null {
  if (!rc.hooks.sumAggregation) return null;
  const configured = rc.config.reduceFanIn ?? 'auto';
  const fanIn = configured === 'auto' ? AUTO_REDUCE_FAN_IN : configured;
  if (partials <= fanIn) return null;
  return Math.max(fanIn, Math.ceil(Math.sqrt(partials)));
}

export interface RoundFlowInput {
  readonly flowId: string;
  readonly aggregate: AggregatePayload;
  readonly children: readonly FlowChild[];
  readonly priority?: number;
}

/**
 * Runs a round's train jobs and its aggregation; resolves with the aggregation's reply (unparsed).
 * Without a tree: one flow, the train jobs as children of the aggregation. With one: a flow per
 * group of cohorts whose parent is a `reduce` job (all groups at once), then the aggregation as a
 * flow of its own, given the groups' outcomes. Flow ids are derived from the round's, so a resumed
 * round finds its flows again. A reduce flow that fails for good is data for the aggregation
 * (its clients are recorded with the failure), like a failed train job.
 */
export async function runRoundFlow(transport: FlowTransport, rc: Pick<RunContext, 'config' | 'hooks'>, input: RoundFlowInput): Promise<unknown> {
  const { aggregate, children, flowId } = input;
  const { failures } = rc.config;
  const priority = input.priority !== undefined ? { priority: input.priority } : {};
  const cohorts = aggregate.cohorts;
  const fanIn = cohorts ? reduceFanInFor(rc, cohorts.length) : null;
  if (!cohorts || fanIn === null) {
    return transport.runFlow({
      flowId,
      parent: { kind: 'aggregate', payload: aggregate },
      children,
      ...flowPolicy(cohorts ? 'trainCohort' : 'train', 'aggregate', failures),
      ...priority,
    });
  }
  const childGroups = reduceGroups(children, fanIn);
  const reductions = await Promise.all(
    reduceGroups(cohorts, fanIn).map(async (members, group) => {
      const payload: ReducePayload = {
        runId: aggregate.runId,
        labels: aggregate.labels,
        round: aggregate.round,
        group,
        firstCohort: group * fanIn,
        cohorts: members,
      };
      const groupFlowId = `${flowId}.reduce-${group}`;
      try {
        const value = await transport.runFlow({
          flowId: groupFlowId,
          parent: { kind: 'reduce', payload },
          children: childGroups[group]!,
          ...flowPolicy('trainCohort', 'reduce', failures),
          ...priority,
        });
        return { ok: true as const, value };
      } catch (err) {
        // a reduce that failed for good is its clients' failure; a closed transport or a lost flow stops the run
        if (err instanceof FlowFailedError && err.message.startsWith(`flow ${groupFlowId} failed: parent reduce failed after`)) {
          return { ok: false as const, code: 'error' as const, error: err.message };
        }
        throw err;
      }
    }),
  );
  return transport.runFlow({
    flowId,
    parent: { kind: 'aggregate', payload: { ...aggregate, tree: { fanIn, reductions } } },
    children: [],
    ...flowPolicy('trainCohort', 'aggregate', failures),
    ...priority,
  });
}
