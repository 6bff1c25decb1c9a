import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeParams, encodeParams } from '@fedsim/fl/params';
import { createModel } from '@fedsim/fl/models';
import type { ChildOutcome, CommitRecord, FlowSpec, FlowTransport, JobHandlers, Jobs, ParentKind, TrainReply } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { createHandlers } from '@fedsim/runtime/wiring';
import { syntheticExperiment } from './fixtures.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The fixture's MLP (12 features, 3 classes); FedAvg uploads all of it. */
const spec = createModel('mlp', { inputShape: [12], numClasses: 3 }).spec;

type Tamper = (reply: TrainReply, store: LocalDirBlobStore) => Promise<TrainReply>;

/**
 * Runs real train jobs, then lets a tamper function replace some clients' updates before the
 * real aggregation job sees them: what a buggy or malicious worker could deliver.
 */
class TamperingTransport implements FlowTransport {
  readonly commits: CommitRecord[] = [];
  constructor(
    private readonly handlers: JobHandlers,
    private readonly store: LocalDirBlobStore,
    private readonly tamper: ReadonlyMap<number, Tamper>,
  ) {}
  async runFlow<P extends ParentKind>(flow: FlowSpec<Jobs, P>): Promise<Jobs[P]['reply']> {
    const outcomes: ChildOutcome[] = [];
    for (const child of flow.children) {
      let value = await this.handlers.runChild(child.kind, child.payload, { attempt: 1, jobId: child.id });
      const t = this.tamper.get(Number(child.id));
      if (child.kind === 'train' && t) value = await t(value as TrainReply, this.store);
      outcomes.push({ id: child.id, ok: true, value });
    }
    const parent = flow.parent as FlowSpec['parent'];
    const result = await this.handlers.runParent(parent.kind, parent.payload, outcomes);
    if (parent.kind === 'aggregate') this.commits.push(result as CommitRecord);
    return result as Jobs[P]['reply'];
  }
  async check() {}
  async close() {}
}

async function runWith(tamper: Map<number, Tamper>) {
  const root = await mkdtemp(join(tmpdir(), 'fedsim-reject-'));
  dirs.push(root);
  const store = new LocalDirBlobStore(root);
  const handlers = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
  const transport = new TamperingTransport(handlers, store, tamper);
  const config = syntheticExperiment({ rounds: 1, joinRatio: 1, failures: { minSuccessFraction: 0.1 }, storage: { gc: 'off' } });
  await runExperiment(config, { runId: 'r', store, transport });
  return { store, commit: transport.commits[0]! };
}

/** Rewrites a client's update blob with changed values, keeping a valid encoding. */
const rewrite =
  (edit: (values: Float32Array) => void): Tamper =>
  async (reply, store) => {
    const bytes = await store.get(reply.updateKey);
    const values = decodeParams(bytes, spec).values.slice();
    edit(values);
    await store.put(reply.updateKey, encodeParams(spec, values, {}));
    return reply;
  };

test('NaN, Inf, corrupt, wrong-size and misreported updates never reach the global model', async () => {
  const clean = await runWith(new Map());
  assert.equal(clean.commit.succeeded.length, 6);

  const tampered = await runWith(
    new Map<number, Tamper>([
      [0, rewrite((v) => (v[3] = Number.NaN))],
      [1, rewrite((v) => (v[v.length - 1] = Number.POSITIVE_INFINITY))],
      [
        2,
        async (reply, store) => {
          const bytes = await store.get(reply.updateKey);
          bytes[Math.floor(bytes.length / 2)]! ^= 0xff; // one flipped byte: the checksum must catch it
          await store.put(reply.updateKey, bytes);
          return reply;
        },
      ],
      [
        3,
        async (reply, store) => {
          await store.put(reply.updateKey, (await store.get(reply.updateKey)).subarray(0, 100));
          return reply;
        },
      ],
      [4, async (reply) => ({ ...reply, numSamples: reply.numSamples * 10 })],
    ]),
  );
  const c = tampered.commit;
  assert.deepEqual(c.succeeded, [5]);
  // Each rejection as typed data: the code (also results.csv's and the metric's) and the detail.
  const reasons = new Map(c.failures.map((f) => [f.clientId, `${f.code}: ${f.detail}`]));
  assert.match(reasons.get(0)!, /^non_finite: element 3 is NaN/);
  assert.match(reasons.get(1)!, /^non_finite: .*Infinity/);
  assert.match(reasons.get(2)!, /^corrupt: .*checksum/i);
  assert.match(reasons.get(3)!, /^(corrupt|shape_mismatch): /);
  assert.match(reasons.get(4)!, /^forged: reported \d+ samples/);

  // θ_g^1 is exactly the clean client 5's model (the only accepted update), untouched by the rest.
  const next = await tampered.store.get(keys.global('r', 1));
  const update5 = await tampered.store.get(keys.update('r', 0, 5, 1));
  assert.deepEqual(decodeParams(next, spec).values, decodeParams(update5, spec).values);
});
