import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RoundRow } from '@fedsim/runtime';
import { LocalDirBlobStore } from '@fedsim/runtime/adapters';
import { ResultsFiles } from '../src/results-files.js';

const dir = await mkdtemp(join(tmpdir(), 'fedsim-results-files-'));
after(() => rm(dir, { recursive: true, force: true }));

const row = (round: number): RoundRow => ({
  round, clients: 2, sampled: [0, 1], succeeded: 2, failed: 0, failures: [], trainLoss: 0.5, wallSeconds: 1,
  trainSeconds: 1, aggregateSeconds: 0.1, uploadBytes: 1, downloadBytes: 1, backends: ['wasm'], prepareReports: {},
});
const roundsIn = (jsonl: string) => jsonl.split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as RoundRow).round);

test('a resumed distributed run mirrors every round to the store, not only the last process', async () => {
  const store = new LocalDirBlobStore(join(dir, 'store'));
  const mirrored = async () => Buffer.from(await store.get('runs/r/results/results.jsonl')).toString('utf8');

  const first = new ResultsFiles(join(dir, 'coordinator-1'), 'r', store);
  await first.start({}, null);
  await first.append(row(0));
  await first.append(row(1));
  assert.deepEqual(roundsIn(await mirrored()), [0, 1]);

  // The resumed coordinator runs on another machine: no local files, only the store.
  const local = join(dir, 'coordinator-2');
  const second = new ResultsFiles(local, 'r', store);
  await second.start({}, 2);
  await second.append(row(2));
  await second.append(row(3));
  assert.deepEqual(roundsIn(await mirrored()), [0, 1, 2, 3]);
  assert.deepEqual(roundsIn(await readFile(join(local, 'results.jsonl'), 'utf8')), [0, 1, 2, 3]);
  const csv = (await readFile(join(local, 'results.csv'), 'utf8')).trim().split('\n');
  assert.deepEqual(csv.slice(1).map((l) => Number(l.split(',')[0])), [0, 1, 2, 3]);
});

test('a resumed embedded run keeps the local rows before the resume point and drops later ones', async () => {
  const local = join(dir, 'embedded');
  const first = new ResultsFiles(local, 'e', null);
  await first.start({}, null);
  for (const r of [0, 1, 2]) await first.append(row(r));
  // Resuming at round 2 (its row was written but, say, its commit is being redone): rows 0 and 1 stay.
  const second = new ResultsFiles(local, 'e', null);
  await second.start({}, 2);
  await second.append(row(2));
  assert.deepEqual(roundsIn(await readFile(join(local, 'results.jsonl'), 'utf8')), [0, 1, 2]);
});
