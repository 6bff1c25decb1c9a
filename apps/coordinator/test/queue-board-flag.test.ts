import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperiment } from '@fedsim/runtime';
import { coordinatorObservability, queueBoardMode } from '../src/observability.js';

test('the queue board is off unless --queue-board or FEDSIM_QUEUE_BOARD asks for it; the flag wins', () => {
  assert.equal(queueBoardMode(undefined, {}), 'off');
  assert.equal(queueBoardMode(undefined, { FEDSIM_QUEUE_BOARD: '' }), 'off');
  assert.equal(queueBoardMode(undefined, { FEDSIM_QUEUE_BOARD: 'read-only' }), 'read-only');
  assert.equal(queueBoardMode('read-write', { FEDSIM_QUEUE_BOARD: 'read-only' }), 'read-write');
  assert.equal(queueBoardMode('off', { FEDSIM_QUEUE_BOARD: 'read-write' }), 'off');
  assert.throws(() => queueBoardMode(undefined, { FEDSIM_QUEUE_BOARD: 'yes' }), /FEDSIM_QUEUE_BOARD: 'yes' is not one of off, read-only, read-write/);
  assert.throws(() => queueBoardMode('rw', {}), /--queue-board: 'rw'/);
});

test('an embedded run refuses --queue-board with a message saying why, and ignores FEDSIM_QUEUE_BOARD', () => {
  const config = parseExperiment({
    name: 'e', data: { kind: 'synthetic', numSamples: 60, featureShape: [4], numClasses: 2 },
    partition: { kind: 'iid', numClients: 2 }, model: 'logreg', algorithm: { name: 'fedavg' }, rounds: 1,
  });
  assert.throws(
    () => coordinatorObservability({ config, distributed: false, queueBoard: 'read-only', log: () => undefined }),
    /--queue-board needs --distributed/,
  );
  const saved = process.env['FEDSIM_QUEUE_BOARD'];
  process.env['FEDSIM_QUEUE_BOARD'] = 'read-only';
  try {
    const logged: string[] = [];
    coordinatorObservability({ config, distributed: false, log: (m) => logged.push(m) });
    assert.deepEqual(logged, ['FEDSIM_QUEUE_BOARD ignored: an embedded run has no BullMQ queues']);
  } finally {
    if (saved === undefined) delete process.env['FEDSIM_QUEUE_BOARD'];
    else process.env['FEDSIM_QUEUE_BOARD'] = saved;
  }
});
