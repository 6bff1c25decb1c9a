import { z } from 'zod';

/** What the coordinator puts in a child job; validated by the worker before it runs anything. */
export const ChildJobData = z.object({
  flowId: z.string().min(1),
  childId: z.string().min(1),
  kind: z.enum(['train', 'eval']),
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
  kind: z.enum(['aggregate', 'evalSummary']),
  payload: z.unknown(),
  deadlineMs: z.number().positive(),
  childIds: z.array(z.string().min(1)),
});
export type ParentJobData = z.infer<typeof ParentJobData>;

export const GateJobData = z.object({ flowId: z.string() });
