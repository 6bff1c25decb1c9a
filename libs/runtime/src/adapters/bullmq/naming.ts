/**
 * Queue names and job ids, shared by the coordinator and the workers (and by deployment
 * manifests that scale on queue depth).
 *
 *   <prefix>-aggregate      parent jobs (aggregate, evalSummary)
 *   <prefix>-train-<pool>   child jobs of both kinds (train and eval; the kind is in the job data),
 *                           so one worker's concurrency bounds all client work it takes on
 *   <prefix>-gate           one placeholder child per flow while its children are being added;
 *                           no worker consumes it
 */
import { z } from 'zod';

export const DEFAULT_POOL = 'default';
export const DEFAULT_KEY_PREFIX = 'bull';

const NAME_PART = /^[A-Za-z0-9_-]{1,64}$/;

/** A queue prefix or pool name, for apps validating their environment with the same rule. */
export const namePartSchema = z.string().regex(NAME_PART, "1-64 letters, digits, '_' or '-'");

export function assertNamePart(what: string, value: string): void {
  if (!NAME_PART.test(value)) throw new Error(`${what} '${value}' must be 1-64 letters, digits, '_' or '-'`);
}

export function queueNames(prefix: string) {
  assertNamePart('queue prefix', prefix);
  return {
    aggregate: `${prefix}-aggregate`,
    gate: `${prefix}-gate`,
    child: (pool: string = DEFAULT_POOL) => {
      assertNamePart('pool', pool);
      return `${prefix}-train-${pool}`;
    },
  };
}
export type QueueNames = ReturnType<typeof queueNames>;

/** BullMQ forbids ':' in custom ids and integer-looking ids; '%' is escaped to keep this injective. */
function encodeIdPart(s: string): string {
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export const jobIds = {
  parent: (flowId: string) => `flow.${encodeIdPart(flowId)}`,
  gate: (flowId: string) => `flow.${encodeIdPart(flowId)}.gate`,
  child: (flowId: string, childId: string) => `flow.${encodeIdPart(flowId)}.c.${encodeIdPart(childId)}`,
};

/** Job id part of a BullMQ job key `<keyPrefix>:<queue>:<id>` (ids never contain ':'). */
export function jobIdOfKey(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/** Queue name of a job key under `keyPrefix`, or undefined when the key is not under it. */
export function queueOfKey(key: string, keyPrefix: string): string | undefined {
  if (!key.startsWith(`${keyPrefix}:`)) return undefined;
  const rest = key.slice(keyPrefix.length + 1);
  const colon = rest.lastIndexOf(':');
  return colon > 0 ? rest.slice(0, colon) : undefined;
}
