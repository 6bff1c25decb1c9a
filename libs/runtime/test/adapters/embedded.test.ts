import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmbeddedTransport } from '../../src/adapters/embedded/embedded-transport.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';
import { ScriptedHandlers } from './scripted-handlers.js';
import { transportConformance } from './transport-conformance.js';

transportConformance('EmbeddedTransport', async (handlers) => {
  const transport = new EmbeddedTransport<UntypedJobs>({ handlers, concurrency: 8, retryBackoffMs: 5 });
  return { transport, close: () => transport.close() };
});

test('EmbeddedTransport: never runs more jobs at once than its concurrency', async () => {
  let running = 0;
  let peak = 0;
  const transport = new EmbeddedTransport<UntypedJobs>({
    concurrency: 3,
    handlers: {
      async runChild() {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return null;
      },
      async runParent(_k, _p, outcomes) {
        return outcomes.length;
      },
    },
  });
  const children = Array.from({ length: 30 }, (_, i) => ({ id: String(i), kind: 'train' as const, payload: null }));
  const result = await transport.runFlow({
    flowId: 'limit', parent: { kind: 'aggregate', payload: null }, children, deadlineMs: 10_000, attempts: 1, parentAttempts: 1,
  });
  assert.equal(result, 30);
  assert.equal(peak, 3);
  await transport.close();
});

test('EmbeddedTransport: close rejects flows still running and new ones', async () => {
  const handlers = new ScriptedHandlers();
  const transport = new EmbeddedTransport<UntypedJobs>({ handlers, concurrency: 2 });
  const running = transport.runFlow({
    flowId: 'closing', parent: { kind: 'aggregate', payload: { flow: 'closing' } },
    children: [{ id: 'h', kind: 'train', payload: { flow: 'closing', child: 'h', value: 1, script: { do: 'hang' } } }],
    deadlineMs: 60_000, attempts: 1, parentAttempts: 1,
  });
  await new Promise((r) => setTimeout(r, 20));
  await transport.close();
  await assert.rejects(running, /transport closed/);
  await assert.rejects(transport.runFlow({
    flowId: 'late', parent: { kind: 'aggregate', payload: null }, children: [], deadlineMs: 1, attempts: 1, parentAttempts: 1,
  }), /transport closed/);
  assert.equal(handlers.parentRuns.size, 0);
});

test('EmbeddedTransport: queueDepths reports waiting and active jobs', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const transport = new EmbeddedTransport<UntypedJobs>({
    concurrency: 2,
    handlers: { runChild: () => gate.then(() => 1), runParent: async () => 'done' },
  });
  const children = Array.from({ length: 5 }, (_, i) => ({ id: String(i), kind: 'train' as const, payload: null }));
  const run = transport.runFlow({ flowId: 'depth', parent: { kind: 'aggregate', payload: null }, children, deadlineMs: 10_000, attempts: 1, parentAttempts: 1 });
  await new Promise((r) => setTimeout(r, 10));
  const depths = await transport.queueDepths();
  assert.deepEqual(depths.filter((d) => d.state === 'active' || d.state === 'waiting').map((d) => [d.state, d.count]), [['waiting', 3], ['active', 2]]);
  release();
  assert.equal(await run, 'done');
  await transport.close();
});
