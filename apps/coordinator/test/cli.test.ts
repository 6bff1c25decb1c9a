import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { RoundRow } from '@fedsim/runtime';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'fedsim-cli-'));
after(() => rm(dir, { recursive: true, force: true }));

interface Exit {
  readonly code: number | null;
  readonly output: string;
}

/** Runs `fedsim` from sources; `onOutput` may act on the output so far (e.g. send a signal). */
function fedsim(args: readonly string[], env: Record<string, string> = {}, onOutput?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Exit> {
  const child = spawn(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', 'apps/coordinator/src/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, FEDSIM_BACKEND: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (d: Buffer) => {
    output += d.toString();
    onOutput?.(output, (s) => child.kill(s));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

const smoke = (runId: string, ...extra: string[]) =>
  ['run', 'configs/smoke-synthetic.yaml', '--out', dir, '--run-id', runId, '--workers', '1', '--quiet', ...extra];

test('fedsim --version prints the package version', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'apps/coordinator/package.json'), 'utf8')) as { version: string };
  const r = await fedsim(['--version']);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.trim(), version);
});

test('bad input exits with 2: an unknown option, a missing config file, an invalid field, a bad environment value', async () => {
  for (const [args, env, says] of [
    [['run', 'configs/smoke-synthetic.yaml', '--bogus'], {}, /unknown option '--bogus'/],
    [['run', join(dir, 'missing.yaml')], {}, /cannot read config file/],
    [['validate', 'configs/smoke-synthetic.yaml', '--set', 'rounds=0'], {}, /rounds: /],
    [['validate', 'configs/smoke-synthetic.yaml'], { FEDSIM_BACKEND: 'tpu' }, /FEDSIM_BACKEND/],
    // refused before any client trains (the job schema would refuse it only at the aggregation)
    [smoke('r'.repeat(121)), {}, /--run-id: Too big/],
  ] as const) {
    const r = await fedsim(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}:\n${r.output}`);
    assert.match(r.output, says);
  }
});

test('--backend wins over FEDSIM_BACKEND; a run that cannot go on exits with 1', async () => {
  const r = await fedsim(smoke('backend', '--set', 'rounds=1'), { FEDSIM_BACKEND: 'cpu' });
  assert.equal(r.code, 0, r.output);
  const r2 = await fedsim(smoke('backend', '--set', 'rounds=1', '--fresh'));
  assert.equal(r2.code, 1, `--fresh refuses an existing run id:\n${r2.output}`);
  assert.match(r2.output, /already exists/);
  const r3 = await fedsim(smoke('backend-wasm', '--set', 'rounds=1', '--backend', 'wasm'), { FEDSIM_BACKEND: 'cpu' });
  assert.equal(r3.code, 0, r3.output);
  const rows = (await readFile(join(dir, 'runs', 'backend-wasm', 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RoundRow);
  assert.deepEqual(rows.map((row) => row.backends), [['wasm']]);
  const cpuRows = (await readFile(join(dir, 'runs', 'backend', 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RoundRow);
  assert.deepEqual(cpuRows.map((row) => row.backends), [['cpu']], 'without --backend, FEDSIM_BACKEND decides');
});

test('a run ended by SIGTERM exits with 128 + 15', async () => {
  let sent = false;
  const r = await fedsim(['run', 'configs/smoke-synthetic.yaml', '--out', dir, '--run-id', 'signal', '--workers', '1', '--set', 'rounds=500'], {}, (text, kill) => {
    if (!sent && /round 1\b/.test(text)) {
      sent = true;
      kill('SIGTERM');
    }
  });
  assert.ok(sent, r.output);
  assert.equal(r.code, 143, r.output);
  assert.match(r.output, /interrupted: committed rounds are kept/);
});
