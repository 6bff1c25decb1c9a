import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ChildOutcome, CommitRecord, FlowSpec, FlowTransport, JobHandlers, Jobs, ParentKind } from '@fedsim/runtime';
import { runExperiment } from '@fedsim/runtime';
import { LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { createHandlers } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-duplicate-'));
after(() => rm(dir, { recursive: true, force: true }));

/**
 * Delivers every child job twice, as a queue does after a stall or a lost acknowledgement (the
 * second delivery is the next attempt, racing the first), and hands the parent both outcomes.
 */
class DuplicatingTransport implements FlowTransport {
  readonly commits: CommitRecord[] = [];
  constructor(private readonly handlers: JobHandlers) {}
  async runFlow<P extends ParentKind>(flow: FlowSpec<Jobs, P>): Promise<Jobs[P]['reply']> {
    const outcomes: ChildOutcome[] = [];
    for (const child of flow.children) {
      const deliveries = await Promise.all([1, 2].map((attempt) => this.handlers.runChild(child.kind, child.payload, { attempt, jobId: child.id })));
      for (const value of deliveries) outcomes.push({ id: child.id, ok: true, value });
    }
    const parent = flow.parent as FlowSpec['parent'];
    const result = await this.handlers.runParent(parent.kind, parent.payload, outcomes);
    if (parent.kind === 'aggregate') this.commits.push(result as CommitRecord);
    return result as Jobs[P]['reply'];
  }
  async check() {}
  async close() {}
}

for (const cohortSize of [1, 2]) test(`a job delivered twice is counted once: same model as a single delivery, no client twice (cohortSize ${cohortSize})`, async () => {
  const config = syntheticExperiment({ algorithm: { name: 'fedper' }, rounds: 2, eval: { every: 1 }, cohortSize });
  const runWith = async (name: string, transport: (h: JobHandlers) => FlowTransport) => {
    const runId = `${name}${cohortSize}`;
    const root = join(dir, runId);
    const handlers = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
    const t = transport(handlers);
    const summary = await runExperiment(config, { runId, store: new LocalDirBlobStore(root), transport: t });
    return { summary, t };
  };
  const twice = await runWith('twice', (h) => new DuplicatingTransport(h));
  const once = await runWith('once', (h) => ({
    runFlow: async (flow) => {
      const outcomes: ChildOutcome[] = [];
      for (const child of flow.children) outcomes.push({ id: child.id, ok: true, value: await h.runChild(child.kind, child.payload, { attempt: 1, jobId: child.id }) });
      return h.runParent(flow.parent.kind, flow.parent.payload, outcomes);
    },
    check: async () => undefined,
    close: async () => undefined,
  }));
  assert.equal(twice.summary.finalModelSha256, once.summary.finalModelSha256);
  const commits = (twice.t as DuplicatingTransport).commits;
  assert.equal(commits.length, 2);
  for (const c of commits) {
    assert.equal(new Set(c.succeeded).size, c.succeeded.length, 'no client counted twice');
    assert.equal(c.failures.length, 0);
    assert.equal(c.succeeded.length, 3);
  }
  assert.deepEqual(twice.summary.final?.results, once.summary.final?.results, 'evaluation counted once per client too');
});
