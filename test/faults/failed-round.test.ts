import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FlowTransport, JobHandlers, RoundRow } from '@fedsim/runtime';
import { keys, runExperiment } from '@fedsim/runtime';
import { EmbeddedTransport, LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { createHandlers } from '@fedsim/runtime/wiring';
import { fedBuffExperiment, syntheticExperiment } from '../integration/fixtures.js';

/**
 * A round that fails failures.minSuccessFraction ends as a finished flow whose reply says
 * 'failed'. Run again in the same process (the embedded transport remembers finished flows),
 * the round must train again for real and the run resume, not get the failed reply back.
 */
const failing = { attempts: 1, minSuccessFraction: 1, roundDeadlineSeconds: 600 };
const config = syntheticExperiment({ rounds: 3, failures: failing });

let root: string;
let handlers: JobHandlers;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedsim-failed-round-'));
  handlers = await createHandlers({ store: { kind: 'dir', root }, backend: 'wasm' });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The real handlers, except that round 1's train jobs fail while `broken` is set. */
function roundOneFails(): { broken: boolean; handlers: JobHandlers } {
  const fault = {
    broken: true,
    handlers: {
      runChild: (kind, payload, ctx) => {
        if (fault.broken && kind === 'train' && (payload as { round: number }).round === 1) return Promise.reject(new Error('injected failure'));
        return handlers.runChild(kind, payload, ctx);
      },
      runParent: (kind, payload, outcomes) => handlers.runParent(kind, payload, outcomes),
    } satisfies JobHandlers,
  };
  return fault;
}

test('embedded: a round failed for want of clients trains again when the run is run again in the same process', async () => {
  const store = new LocalDirBlobStore(root);
  const reference = await runExperiment(config, { runId: 'reference', store, transport: new EmbeddedTransport({ handlers, concurrency: 2 }) });

  // round 1's train jobs fail while `fault.broken`; one transport for both runs, as in one process
  const fault = roundOneFails();
  const transport = new EmbeddedTransport({ handlers: fault.handlers, concurrency: 2 });
  try {
    await assert.rejects(runExperiment(config, { runId: 'r', store, transport }), /round 1 failed: only 0 of 3 clients/);
    assert.deepEqual(JSON.parse(Buffer.from(await store.get(keys.roundAttempts('r', 1))).toString('utf8')), { failed: 1 });

    fault.broken = false;
    const rows: RoundRow[] = [];
    const again = await runExperiment(config, { runId: 'r', store, transport, observer: { onRound: (row) => void rows.push(row) } });
    assert.deepEqual(rows.map((r) => [r.round, r.succeeded]), [[1, 3], [2, 3]]);
    assert.ok(rows[0]!.trainSeconds > 0, 'round 1 trained again');
    assert.equal(again.finalModelSha256, reference.finalModelSha256);
  } finally {
    await transport.close();
  }
});

for (const [mode, cfg] of [['synchronous', config], ['FedBuff', fedBuffExperiment({ failures: failing })]] as const) {
  test(`embedded, ${mode}: the aggregation itself records the failed attempt, so a coordinator stopped before it read the reply does not replay it`, async () => {
    const config = cfg;
    const id = mode === 'FedBuff' ? 'fb' : 'r2';
    const store = new LocalDirBlobStore(root);
    const reference = await runExperiment(config, { runId: `reference-${id}`, store, transport: new EmbeddedTransport({ handlers, concurrency: 2 }) });
    const fault = roundOneFails();
    const inner = new EmbeddedTransport({ handlers: fault.handlers, concurrency: 2 });
    // the coordinator "dies" as round 1's reply arrives: the flow finished, nobody read its reply
    let killed = false;
    const transport: FlowTransport = {
      runFlow: async (flow) => {
        const reply = await inner.runFlow(flow);
        if (fault.broken && flow.flowId.includes('.train.1')) {
          killed = true;
          throw new Error('coordinator killed');
        }
        return reply;
      },
      check: () => inner.check(),
      close: () => inner.close(),
    };
    try {
      await assert.rejects(runExperiment(config, { runId: id, store, transport }), /coordinator killed/);
      assert.ok(killed);
      fault.broken = false;
      const again = await runExperiment(config, { runId: id, store, transport });
      assert.equal(again.finalModelSha256, reference.finalModelSha256);
    } finally {
      await transport.close();
    }
  });
}
