import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowFailedError } from '../../src/ports/transport.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';
import type { FlowChild as TypedFlowChild, FlowSpec as TypedFlowSpec, FlowTransport as TypedFlowTransport } from '../../src/ports/transport.js';

// Scripted payloads: the suite checks delivery, not the job catalog.
type FlowChild = TypedFlowChild<UntypedJobs>;
type FlowSpec = TypedFlowSpec<UntypedJobs>;
type FlowTransport = TypedFlowTransport<UntypedJobs>;
import { ScriptedHandlers } from './scripted-handlers.js';
import type { ChildScript, ParentSummary } from './scripted-handlers.js';

export interface TransportFixture {
  readonly transport: FlowTransport;
  close(): Promise<void>;
}

/** Builds a transport whose jobs run through `handlers` (in this process, possibly via Redis). */
export type TransportFactory = (handlers: ScriptedHandlers) => Promise<TransportFixture>;

let flowSeq = 0;

function child(flow: string, id: string, value: number, script: ChildScript = { do: 'ok' }): FlowChild {
  return { id, kind: 'train', payload: { flow, child: id, value, script } };
}

function flowSpec(flow: string, children: FlowChild[], extra: Partial<FlowSpec> = {}): FlowSpec {
  return {
    flowId: flow,
    parent: { kind: 'aggregate', payload: { flow } },
    children,
    deadlineMs: 60_000,
    attempts: 1,
    parentAttempts: 1,
    ...extra,
  };
}

/**
 * The semantics every FlowTransport must show (see ports/transport.ts). Run it once per
 * transport with a factory; each case gets a fresh transport and fresh handlers.
 */
export function transportConformance(name: string, factory: TransportFactory): void {
  const withTransport = (title: string, body: (t: FlowTransport, h: ScriptedHandlers, flow: string) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const handlers = new ScriptedHandlers();
      const fixture = await factory(handlers);
      const flow = `run-${process.pid}-${Date.now().toString(36)}-${++flowSeq}/round:1`;
      try {
        await body(fixture.transport, handlers, flow);
      } finally {
        handlers.release();
        await fixture.close();
      }
    });

  withTransport('all children succeed and the parent sees outcomes in the order given', async (t, h, flow) => {
    // later children finish first, so finish order is the reverse of the given order
    const ids = ['c9', 'c2', 'c7', 'c0', 'c5'];
    const children = ids.map((id, i) => child(flow, id, i * 10, { do: 'ok', delayMs: (ids.length - i) * 30 }));
    const result = (await t.runFlow(flowSpec(flow, children))) as ParentSummary;
    assert.deepEqual(result.ids, ids);
    assert.deepEqual(result.values, [0, 10, 20, 30, 40]);
    assert.deepEqual(result.errors, [null, null, null, null, null]);
    assert.equal(h.parentRuns.get(flow), 1);
    for (const id of ids) assert.deepEqual(h.runsOf(flow, id), [1]);
  });

  withTransport('a child that fails once succeeds on its retry, with attempt numbers 1 then 2', async (t, h, flow) => {
    const children = [child(flow, 'a', 1), child(flow, 'flaky', 2, { do: 'failFirst', times: 1 }), child(flow, 'b', 3)];
    const result = (await t.runFlow(flowSpec(flow, children, { attempts: 3 }))) as ParentSummary;
    assert.deepEqual(result.values, [1, 2, 3]);
    assert.deepEqual(h.runsOf(flow, 'flaky'), [1, 2]);
    assert.deepEqual(h.runsOf(flow, 'a'), [1]);
  });

  withTransport('a child that fails every attempt reaches the parent as a failure with its error', async (t, h, flow) => {
    const children = [child(flow, 'good', 1), child(flow, 'bad', 2, { do: 'fail' }), child(flow, 'good2', 3)];
    const result = (await t.runFlow(flowSpec(flow, children, { attempts: 2 }))) as ParentSummary;
    assert.deepEqual(result.ids, ['good', 'bad', 'good2']);
    assert.deepEqual(result.values, [1, null, 3]);
    assert.equal(result.errors[0], null);
    assert.match(result.errors[1] ?? '', /scripted permanent failure of bad/);
    assert.equal(result.codes[1], 'error');
    assert.deepEqual(h.runsOf(flow, 'bad'), [1, 2]);
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('a non-retryable child error gets exactly one attempt and reaches the parent as bad_input', async (t, h, flow) => {
    const children = [child(flow, 'good', 1), child(flow, 'bad', 2, { do: 'invalid' }), child(flow, 'flaky', 3, { do: 'failFirst', times: 1 })];
    const result = (await t.runFlow(flowSpec(flow, children, { attempts: 3 }))) as ParentSummary;
    assert.deepEqual(h.runsOf(flow, 'bad'), [1]);
    assert.deepEqual(h.runsOf(flow, 'flaky'), [1, 2], 'ordinary errors are still retried');
    assert.deepEqual(result.values, [1, null, 3]);
    assert.deepEqual(result.codes, [null, 'bad_input', null]);
    assert.match(result.errors[1] ?? '', /^scripted invalid input of bad$/);
  });

  withTransport('a non-retryable parent error fails the flow after exactly one attempt', async (t, h, flow) => {
    const spec: FlowSpec = { ...flowSpec(flow, [child(flow, 'x', 1)]), parent: { kind: 'aggregate', payload: { flow, invalid: true } }, parentAttempts: 3 };
    await assert.rejects(t.runFlow(spec), (err: unknown) => {
      assert.ok(err instanceof FlowFailedError, String(err));
      assert.match(err.message, /scripted invalid parent input/);
      return true;
    });
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('a child still running at the deadline counts as failed (deadline) and the parent runs', async (t, h, flow) => {
    const children = [child(flow, 'fast', 1), child(flow, 'stuck', 2, { do: 'hang' }), child(flow, 'fast2', 3)];
    const result = (await t.runFlow(flowSpec(flow, children, { deadlineMs: 1500 }))) as ParentSummary;
    assert.deepEqual(result.ids, ['fast', 'stuck', 'fast2']);
    assert.deepEqual(result.values, [1, null, 3]);
    assert.match(result.errors[1] ?? '', /^deadline/);
    assert.equal(result.codes[1], 'deadline');
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('a parent that fails every attempt makes runFlow reject with FlowFailedError', async (t, h, flow) => {
    const spec: FlowSpec = { ...flowSpec(flow, [child(flow, 'x', 1)]), parent: { kind: 'aggregate', payload: { flow, fail: true } }, parentAttempts: 2 };
    await assert.rejects(t.runFlow(spec), (err: unknown) => {
      assert.ok(err instanceof FlowFailedError, String(err));
      assert.equal(err.flowId, flow);
      assert.match(err.message, /scripted parent failure/);
      return true;
    });
    assert.equal(h.parentRuns.get(flow), 2);
    assert.deepEqual(h.runsOf(flow, 'x'), [1]);
  });

  withTransport('1,200 children (added in chunks) all run once and reach the parent in order', async (t, h, flow) => {
    const n = 1200;
    const ids = Array.from({ length: n }, (_, i) => `client-${(i * 7919) % n}`);
    const children = ids.map((id, i) => child(flow, id, i));
    const result = (await t.runFlow(flowSpec(flow, children))) as ParentSummary;
    assert.deepEqual(result.ids, ids);
    assert.deepEqual(result.values, ids.map((_, i) => i));
    assert.equal(result.errors.filter((e) => e !== null).length, 0);
    assert.equal(h.totalChildRuns(flow), n);
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('re-submitting the same flowId (during and after the run) does not run anything twice', async (t, h, flow) => {
    const children = [child(flow, 'a', 1, { do: 'ok', delayMs: 100 }), child(flow, 'b', 2, { do: 'ok', delayMs: 50 })];
    const spec = flowSpec(flow, children);
    const [first, second] = await Promise.all([t.runFlow(spec), t.runFlow(spec)]);
    const third = await t.runFlow(spec);
    assert.deepEqual(second, first);
    assert.deepEqual(third, first);
    assert.deepEqual(h.runsOf(flow, 'a'), [1]);
    assert.deepEqual(h.runsOf(flow, 'b'), [1]);
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('a flow whose parent failed for good runs again when re-submitted, not answered with its failure', async (t, h, flow) => {
    const children = [child(flow, 'a', 1), child(flow, 'b', 2)];
    await assert.rejects(t.runFlow(flowSpec(flow, children, { parent: { kind: 'aggregate', payload: { flow, invalid: true } } })), FlowFailedError);
    const again = (await t.runFlow(flowSpec(flow, children))) as ParentSummary;
    assert.deepEqual(again.values, [1, 2]);
    assert.deepEqual(h.runsOf(flow, 'a'), [1, 1]);
    assert.equal(h.parentRuns.get(flow), 2);
  });

  withTransport('a flow without children runs the parent with no outcomes', async (t, h, flow) => {
    const result = (await t.runFlow(flowSpec(flow, []))) as ParentSummary;
    assert.deepEqual(result.ids, []);
    assert.equal(h.parentRuns.get(flow), 1);
  });

  withTransport('invalid flows are rejected with the field named', async (t, _h, flow) => {
    await assert.rejects(async () => t.runFlow(flowSpec(flow, [child(flow, 'a', 1), child(flow, 'a', 2)])), /children\[1\]\.id 'a' is not unique/);
    await assert.rejects(async () => t.runFlow(flowSpec(flow, [], { attempts: 0 })), /attempts must be an integer/);
    await assert.rejects(async () => t.runFlow(flowSpec(flow, [], { deadlineMs: -1 })), /deadlineMs/);
  });
}
