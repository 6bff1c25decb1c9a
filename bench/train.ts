/**
 * Training throughput (samples/s, batch 32) of FedAvgCNN and the MLP per compute backend, the
 * PyTorch reference on the same machine, and optionally two-process scaling.
 *
 *   npm run bench:train                        # every available backend + torch (~2 min)
 *   npm run bench:train -- --baseline          # also the stock wasm kernels (the "before")
 *   npm run bench:train -- --scaling           # 1 process vs 2 concurrent processes
 *   npm run bench:train -- --backends wasm,cpu --models mlp --seconds 3 --runs 5 --json out.json
 *
 * Each (backend, model) runs in its own process (a process picks its backend once).
 * Env: FEDSIM_TORCH_BENCH (path of torch_train_bench.py, default ../shared/bench/ from the repo
 * root), FEDSIM_PYTHON (default /usr/bin/python3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue } from './lib/args.js';
import type { ChildResult } from './lib/train-child.js';

type ModelName = 'fedavgcnn' | 'mlp';

interface Variant {
  readonly label: string;
  readonly env: Record<string, string>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const require = createRequire(import.meta.url);

const batch = Number(argValue('--batch') ?? '32');
const seconds = Number(argValue('--seconds') ?? '2');
const runs = Number(argValue('--runs') ?? '3');
const models = (argValue('--models') ?? 'fedavgcnn,mlp').split(',') as ModelName[];
const jsonOut = argValue('--json');

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function variants(): Variant[] {
  const requested = argValue('--backends');
  const all: Variant[] = [
    { label: 'tensorflow-gpu', env: { FEDSIM_BACKEND: 'tensorflow-gpu' } },
    { label: 'tensorflow', env: { FEDSIM_BACKEND: 'tensorflow' } },
    { label: 'wasm', env: { FEDSIM_BACKEND: 'wasm', FEDSIM_WASM_KERNELS: 'fast' } },
    { label: 'wasm-stock', env: { FEDSIM_BACKEND: 'wasm', FEDSIM_WASM_KERNELS: 'stock' } },
    { label: 'cpu', env: { FEDSIM_BACKEND: 'cpu' } },
  ];
  if (requested) {
    const names = requested.split(',');
    for (const n of names) if (!all.some((v) => v.label === n)) throw new Error(`--backends: unknown backend '${n}'; known: ${all.map((v) => v.label).join(', ')}`);
    return all.filter((v) => names.includes(v.label));
  }
  const chosen = all.filter((v) => {
    if (v.label === 'tensorflow-gpu') return installed('@tensorflow/tfjs-node-gpu');
    if (v.label === 'tensorflow') return installed('@tensorflow/tfjs-node');
    if (v.label === 'wasm-stock') return process.argv.includes('--baseline');
    // the tfjs cpu backend is two orders of magnitude slower on the CNN: only on request
    return v.label !== 'cpu';
  });
  console.log(`# backends: ${chosen.map((v) => v.label).join(', ')} (add others with --backends, e.g. --backends wasm,wasm-stock,cpu)`);
  return chosen;
}

function runChild(v: Variant, model: ModelName, secs = seconds, reps = runs): Promise<ChildResult> {
  const args = ['--conditions=fedsim-source', '--import', 'tsx', join(here, 'train.ts'), '--child', model,
    '--batch', String(batch), '--seconds', String(secs), '--runs', String(reps)];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...v.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) ok(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
      else fail(new Error(`${v.label}/${model} failed (exit ${code}): ${(err.split('\n').filter((l) => !l.startsWith('#')).join(' ').trim() || out).slice(0, 400)}`));
    });
  });
}

interface TorchRow {
  model: string;
  threads: number;
  samples_per_s: number;
}

function torchReference(): Map<ModelName, number> | string {
  const python = process.env['FEDSIM_PYTHON'] ?? '/usr/bin/python3';
  const script = process.env['FEDSIM_TORCH_BENCH'] ?? resolve(repoRoot, '../shared/bench/torch_train_bench.py');
  if (!existsSync(script)) return `torch bench script not found at ${script} (set FEDSIM_TORCH_BENCH)`;
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${python} cannot import torch (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  const torchNames: Record<ModelName, string> = { fedavgcnn: 'cnn', mlp: 'mlp' };
  const out = join(mkdtempSync(join(tmpdir(), 'fedsim-bench-')), 'torch.json');
  const r = spawnSync(python, [script, '--models', models.map((m) => torchNames[m]).join(','), '--threads', '1',
    '--batch', String(batch), '--seconds', String(seconds), '--repeat', String(runs), '--json', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) return `torch bench failed: ${r.stderr.trim().split('\n').pop()}`;
  const rows = (JSON.parse(readFileSync(out, 'utf8')) as { results: TorchRow[] }).results;
  const res = new Map<ModelName, number>();
  for (const m of models) {
    const row = rows.find((x) => x.model === torchNames[m] && x.threads === 1);
    if (row) res.set(m, row.samples_per_s);
  }
  return res;
}

const fmt = (n: number) => n.toFixed(0).padStart(9);

async function throughput(): Promise<Record<string, unknown>> {
  const results: ChildResult[] = [];
  const failures: string[] = [];
  for (const v of variants()) {
    for (const m of models) {
      try {
        const r = await runChild(v, m);
        results.push({ ...r, backend: v.label });
        console.log(`${v.label.padEnd(16)} ${m.padEnd(10)} ${fmt(r.median)} samples/s   runs: ${r.runs.map((x) => x.toFixed(0)).join(', ')}`);
      } catch (e) {
        failures.push((e as Error).message);
        console.log(`${v.label.padEnd(16)} ${m.padEnd(10)}   unavailable: ${(e as Error).message}`);
      }
    }
  }
  const torch = torchReference();
  if (typeof torch === 'string') {
    console.log(`# torch reference skipped: ${torch}`);
    return { results, failures, torch: null };
  }
  console.log('\nPyTorch (1 thread) and the ratio tfjs / torch:');
  for (const m of models) {
    const t = torch.get(m);
    if (t === undefined) continue;
    const ratios = results.filter((r) => r.model === m).map((r) => `${r.backend} ${(r.median / t).toFixed(2)}×`);
    console.log(`torch            ${m.padEnd(10)} ${fmt(t)} samples/s   ${ratios.join(', ')}`);
  }
  return { results, failures, torch: Object.fromEntries(torch) };
}

async function scaling(): Promise<Record<string, unknown>> {
  const label = argValue('--backend') ?? 'wasm';
  const v = variants().find((x) => x.label === label) ?? { label, env: { FEDSIM_BACKEND: label } };
  const rows: Record<string, unknown>[] = [];
  console.log(`# scaling on ${v.label}: one process alone, then two at once (each ${runs}×${seconds}s)`);
  for (const m of models) {
    const one = await runChild(v, m);
    const two = await Promise.all([runChild(v, m), runChild(v, m)]);
    const sum = two[0]!.median + two[1]!.median;
    rows.push({ model: m, one: one.median, two: two.map((r) => r.median), speedup: sum / one.median });
    console.log(`${m.padEnd(10)} 1 process ${fmt(one.median)} samples/s; 2 processes ${fmt(two[0]!.median)} + ${fmt(two[1]!.median)} = ${fmt(sum)}  → ${(sum / one.median).toFixed(2)}×`);
  }
  return { backend: v.label, rows };
}

async function main(): Promise<void> {
  const childModel = argValue('--child');
  if (childModel !== undefined) {
    const { measureTraining } = await import('./lib/train-child.js');
    const r = await measureTraining(childModel as ModelName, batch, seconds, runs);
    console.log(`RESULT ${JSON.stringify(r)}`);
    return;
  }
  console.log(`# batch ${batch}, ${runs} runs × ${seconds}s per measurement, median reported; machine: ${process.arch}, node ${process.version}`);
  const report = process.argv.includes('--scaling') ? await scaling() : await throughput();
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 1));
}

await main();
