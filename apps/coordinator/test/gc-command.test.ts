import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import { embeddedRuntime } from '@fedsim/runtime/wiring';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'fedsim-gc-cli-'));
after(() => rm(dir, { recursive: true, force: true }));

const fedsim = async (...args: string[]) =>
  (await promisify(execFile)(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', 'apps/coordinator/src/cli.ts', ...args], { cwd: repoRoot })).stdout;

test('fedsim gc --dry-run reports, fedsim gc deletes and says what and how many bytes', async () => {
  const config = parseExperiment({
    name: 'gc-cli',
    seed: 5,
    data: { kind: 'synthetic', numSamples: 480, featureShape: [8], numClasses: 4 },
    partition: { kind: 'iid', numClients: 6 },
    model: 'mlp',
    algorithm: { name: 'ditto' },
    rounds: 3,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 3 },
    storage: { gc: 'off' },
  });
  const rt = await embeddedRuntime({ root: dir, workers: 1, backend: 'wasm' });
  try {
    await runExperiment(config, { runId: 'g', store: rt.store, transport: rt.transport });
  } finally {
    await rt.close();
  }
  const before = await rt.store.list(keys.roundsPrefix('g'));

  const dry = await fedsim('gc', 'g', '--out', dir, '--dry-run', '--keep-global-models', '1');
  assert.match(dry, /run g: committed through round 2/);
  assert.match(dry, /would delete \d+ updates/);
  assert.deepEqual(await rt.store.list(keys.roundsPrefix('g')), before);

  const real = await fedsim('gc', 'g', '--out', dir, '--keep-global-models', '1');
  const total = /deleted (\d+) blobs, freed (\d+) bytes/.exec(real);
  assert.ok(total, real);
  assert.ok(Number(total[2]) > 0);
  assert.match(real, /deleted 3 global/);
  const left = await rt.store.list(keys.roundsPrefix('g'));
  assert.ok(left.length < before.length);
  assert.deepEqual(left.filter((k) => k.endsWith('global.bin')), [keys.global('g', 3)]);
  assert.match(await fedsim('gc', 'g', '--out', dir), /deleted 0 blobs, freed 0 bytes/);
});
