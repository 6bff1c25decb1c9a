import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoundRow } from '@fedsim/runtime';
import { formatRow } from '../src/progress.js';

const row: RoundRow = {
  round: 3, clients: 2, sampled: [1, 4], succeeded: 2, failed: 0, failures: [], trainLoss: 0.5, wallSeconds: 1.25,
  trainSeconds: 1, aggregateSeconds: 0.1, uploadBytes: 1, downloadBytes: 1, backends: ['wasm'], prepareReports: {},
};

test('a progress line shows virtual time next to wall time, and the dropped clients', () => {
  assert.doesNotMatch(formatRow(row), /virtual/);
  const line = formatRow({ ...row, virtual: { startSeconds: 10, endSeconds: 32.5, sampled: [1, 2, 4], dropped: [{ clientId: 2, reason: 'deadline' }] } });
  assert.match(line, /1\.3s \| virtual 22\.5s \(clock 32\.5s\) \| 1 dropped/);
});
