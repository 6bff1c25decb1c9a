import { z } from 'zod';
import { CHILD_KINDS, PARENT_KINDS } from '../../jobs/catalog.js';
import type { ChildKind, ParentKind } from '../../jobs/catalog.js';

/** What the coordinator puts in a child job; validated by the worker before it runs anything. */
export const ChildJobData = z.object({
  flowId: z.string().min(1),
  childId: z.string().min(1),
  kind: z.enum(CHILD_KINDS as [ChildKind, ...ChildKind[]]),
  /** validated by the handler against the job catalog */
  payload: z.unknown(),
});
export type ChildJobData = z.infer<typeof ChildJobData>;

/**
 * What the coordinator puts in a parent job. `childIds` is the flow's order: the worker builds
 * outcomes in it, and a child with neither a value nor a recorded failure was detached at the
 * deadline.
 */
export const ParentJobData = z.object({
  flowId: z.string().min(1),
  kind: z.enum(PARENT_KINDS as [ParentKind, ...ParentKind[]]),
  /** validated by the handler against the job catalog */
  payload: z.unknown(),
  deadlineMs: z.number().positive(),
  childIds: z.array(z.string().min(1)),
});
export type ParentJobData = z.infer<typeof ParentJobData>;

export const GateJobData = z.object({ flowId: z.string() });
