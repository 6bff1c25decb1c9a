#!/usr/bin/env node
// Runs every *.test.ts under libs/, apps/ and test/ with node's test runner on the TypeScript
// sources (tsx + the fedsim-source export condition). Extra args are passed to node --test,
// e.g. `npm test -- --test-name-pattern codec`. FEDSIM_TEST_FILTER=substring limits the files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['libs', 'apps', 'test'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
}
for (const r of roots) walk(r);
const filter = process.env.FEDSIM_TEST_FILTER;
const selected = files.sort().filter((f) => !filter || f.includes(filter));
if (selected.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const args = ['--conditions=fedsim-source', '--import', 'tsx', '--test', '--test-concurrency=2',
  '--test-timeout=900000', ...process.argv.slice(2), ...selected];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
