import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed kernel binaries are the build of their AssemblyScript source (CI rebuilds and compares). */

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const script = join(root, 'scripts/build-wasm-kernels.mjs');
const committed = join(root, 'libs/fl/src/compute/wasm/simd/binary.ts');

const check = (target: string) => spawnSync(process.execPath, [script, '--check', '--target', target], { cwd: root, encoding: 'utf8' });

test('binary.ts is what scripts/build-wasm-kernels.mjs builds from libs/fl/assembly/simd-kernels.ts', () => {
  const r = check(committed);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('the check fails, naming the fix, when the committed binary is stale', () => {
  const stale = join(mkdtempSync(join(tmpdir(), 'fedsim-wasm-')), 'binary.ts');
  writeFileSync(stale, readFileSync(committed, 'utf8').replace(/'[A-Za-z0-9+/]{8}/, "'AAAAAAAA"));
  const r = check(stale);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is not the build of .*simd-kernels\.ts; run `npm run build:wasm-kernels`/);
});
