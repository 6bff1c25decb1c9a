import type { FlowSpec } from '../ports/transport.js';
import type { JobShapes } from '../jobs/catalog.js';
import { CHILD_KINDS, PARENT_KINDS } from '../jobs/catalog.js';

const POOL = /^[A-Za-z0-9_-]{1,64}$/;
const quoted = (kinds: readonly string[]) => kinds.map((k) => `'${k}'`).join(' or ');

/** Rejects flows no transport can run faithfully, naming the field. */
export function assertValidFlow<J extends JobShapes>(flow: FlowSpec<J>): void {
  const where = `flow '${flow.flowId}'`;
  if (typeof flow.flowId !== 'string' || flow.flowId.length === 0) throw new Error('flow.flowId must be a non-empty string');
  if (flow.flowId.length > 200) throw new Error(`${where}: flowId is longer than 200 characters`);
  for (const field of ['attempts', 'parentAttempts'] as const) {
    const v = flow[field];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${field} must be an integer ≥ 1, got ${String(v)}`);
  }
  if (!(Number.isFinite(flow.deadlineMs) && flow.deadlineMs > 0)) {
    throw new Error(`${where}: deadlineMs must be a positive number of milliseconds, got ${String(flow.deadlineMs)}`);
  }
  // BullMQ's range; one check for every transport so a bad priority fails the same way everywhere.
  if (flow.priority !== undefined && !(Number.isInteger(flow.priority) && flow.priority >= 1 && flow.priority <= 2_097_152)) {
    throw new Error(`${where}: priority must be an integer from 1 (highest) to 2097152, got ${String(flow.priority)}`);
  }
  const seen = new Set<string>();
  for (const [i, child] of flow.children.entries()) {
    if (typeof child.id !== 'string' || child.id.length === 0) throw new Error(`${where}: children[${i}].id must be a non-empty string`);
    if (seen.has(child.id)) throw new Error(`${where}: children[${i}].id '${child.id}' is not unique`);
    seen.add(child.id);
    if (!(CHILD_KINDS as readonly string[]).includes(child.kind)) throw new Error(`${where}: children[${i}].kind must be ${quoted(CHILD_KINDS)}`);
    if (child.pool !== undefined && !POOL.test(child.pool)) {
      throw new Error(`${where}: children[${i}].pool '${child.pool}' must be 1-64 letters, digits, '_' or '-'`);
    }
  }
  if (!(PARENT_KINDS as readonly string[]).includes(flow.parent.kind)) {
    throw new Error(`${where}: parent.kind must be ${quoted(PARENT_KINDS)}`);
  }
}
