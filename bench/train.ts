/**
 * Training throughput (samples/s, batch 32) of FedAvgCNN and the MLP per compute backend, the
 * PyTorch reference on the same machine, and optionally two-process scaling.
 *
 *   npm run bench:train                        # every available backend + torch (~2 min)
 *   npm run bench:train -- --baseline          # also the stock wasm kernels (the "before")
 *   npm run bench:train -- --scaling           # 1 process vs 2 concurrent processes
 *   npm run bench:train -- --kernels           # per-kernel ms: stock wasm vs fast wasm vs wasm-blas
 *   npm run bench:train -- --backends wasm,cpu --models mlp --seconds 3 --runs 5 --json out.json
 *
 * Each (backend, model) runs in its own process (a process picks its backend once).
 * Env: FEDSIM_TORCH_BENCH (path of torch_train_bench.py, default ../shared/bench/ from the repo
 * root), FEDSIM_PYTHON (default /usr/bin/python3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
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
const seconds = Number(argValue('--seconds') ?? '3');
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

/** undefined when the optional OpenBLAS addon loads, else why not. */
function nativeAddon(): string | undefined {
  try {
    require('@fedsim/native-kernels');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function variants(): Variant[] {
  const requested = argValue('--backends');
  const all: Variant[] = [
    { label: 'tensorflow-gpu', env: { FEDSIM_BACKEND: 'tensorflow-gpu' } },
    { label: 'tensorflow', env: { FEDSIM_BACKEND: 'tensorflow' } },
    { label: 'wasm-blas', env: { FEDSIM_BACKEND: 'wasm-blas', FEDSIM_WASM_KERNELS: 'fast' } },
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
    if (v.label === 'wasm-blas') return nativeAddon() === undefined;
    // the tfjs cpu backend is two orders of magnitude slower on the CNN: only on request
    return v.label !== 'cpu';
  });
  const why = nativeAddon();
  if (why) console.log(`# wasm-blas skipped: ${why}`);
  console.log(`# backends: ${chosen.map((v) => v.label).join(', ')} (others with --backends, e.g. --backends wasm,wasm-stock,cpu)`);
  return chosen;
}

interface Child {
  /** resolves once the child has warmed up (with `sync`, it then waits for `go`) */
  readonly ready: Promise<void>;
  go(): void;
  readonly result: Promise<ChildResult>;
}

function spawnChild(v: Variant, model: ModelName, secs: number, reps: number, sync: boolean): Child {
  const args = ['--conditions=fedsim-source', '--import', 'tsx', join(here, 'train.ts'), '--child', model,
    '--batch', String(batch), '--seconds', String(secs), '--runs', String(reps), ...(sync ? ['--sync'] : [])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...v.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((ok) => (markReady = ok));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('READY\n')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<ChildResult>((ok, fail) => {
    child.on('close', (code) => {
      markReady();
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) ok(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
      else fail(new Error(`${v.label}/${model} failed (exit ${code}): ${(err.split('\n').filter((l) => !l.startsWith('#')).join(' ').trim() || out).slice(0, 400)}`));
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

function runChild(v: Variant, model: ModelName, secs = seconds, reps = runs): Promise<ChildResult> {
  return spawnChild(v, model, secs, reps, false).result;
}

/** Several children measuring at the same time: each warms up, then all start together. */
async function runTogether(v: Variant, model: ModelName, n: number): Promise<ChildResult[]> {
  const children = Array.from({ length: n }, () => spawnChild(v, model, seconds, 1, true));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.go();
  return Promise.all(children.map((c) => c.result));
}

interface TorchRow {
  model: string;
  threads: number;
  samples_per_s: number;
}

const TORCH_NAMES: Record<ModelName, string> = { fedavgcnn: 'cnn', mlp: 'mlp' };

/** How to run the PyTorch reference, or why it cannot run here. */
function torchSetup(): { python: string; script: string } | string {
  const python = process.env['FEDSIM_PYTHON'] ?? '/usr/bin/python3';
  const script = process.env['FEDSIM_TORCH_BENCH'] ?? resolve(repoRoot, '../shared/bench/torch_train_bench.py');
  if (!existsSync(script)) return `torch bench script not found at ${script} (set FEDSIM_TORCH_BENCH)`;
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${python} cannot import torch (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  return { python, script };
}

/** One single-threaded PyTorch measurement of `secs` seconds. */
function torchOnce(setup: { python: string; script: string }, model: ModelName, secs: number): number {
  const out = join(mkdtempSync(join(tmpdir(), 'fedsim-bench-')), 'torch.json');
  const r = spawnSync(setup.python, [setup.script, '--models', TORCH_NAMES[model], '--threads', '1', '--batch', String(batch),
    '--seconds', String(secs), '--repeat', '1', '--json', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`torch bench failed: ${r.stderr.trim().split('\n').pop()}`);
  const rows = (JSON.parse(readFileSync(out, 'utf8')) as { results: TorchRow[] }).results;
  const row = rows.find((x) => x.model === TORCH_NAMES[model]);
  if (!row) throw new Error(`torch bench printed no result for ${TORCH_NAMES[model]}`);
  return row.samples_per_s;
}

const fmt = (n: number) => n.toFixed(0).padStart(9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

/**
 * Rounds of one short run per (model, backend) and one torch run, interleaved so that every
 * contender sees the same machine load (this machine is shared), then medians per contender.
 */
async function throughput(): Promise<Record<string, unknown>> {
  const vs = variants();
  const torch = torchSetup();
  if (typeof torch === 'string') console.log(`# torch reference skipped: ${torch}`);
  const rates = new Map<string, number[]>();
  const failed = new Map<string, string>();
  const add = (key: string, v: number) => rates.set(key, [...(rates.get(key) ?? []), v]);
  for (let round = 0; round < runs; round++) {
    for (const m of models) {
      for (const v of vs) {
        const key = `${v.label}|${m}`;
        if (failed.has(key)) continue;
        try {
          add(key, (await runChild(v, m, seconds, 1)).median);
        } catch (e) {
          failed.set(key, (e as Error).message);
        }
      }
      if (typeof torch !== 'string') add(`torch|${m}`, torchOnce(torch, m, seconds));
    }
    console.log(`# round ${round + 1}/${runs} done (load average ${load()})`);
  }
  const rows: { backend: string; model: ModelName; median: number; runs: number[]; vsTorch?: number }[] = [];
  console.log(`\n${'backend'.padEnd(16)} ${'model'.padEnd(10)} ${'samples/s'.padStart(9)}   ${'÷ torch'.padStart(7)}   runs`);
  for (const m of models) {
    const t = rates.get(`torch|${m}`);
    const tMed = t ? median(t) : undefined;
    for (const label of [...vs.map((v) => v.label), 'torch']) {
      const key = `${label}|${m}`;
      const err = failed.get(key);
      if (err) {
        console.log(`${label.padEnd(16)} ${m.padEnd(10)}   unavailable: ${err}`);
        continue;
      }
      const xs = rates.get(key);
      if (!xs) continue;
      const med = median(xs);
      const ratio = tMed !== undefined ? med / tMed : undefined;
      rows.push({ backend: label, model: m, median: med, runs: xs, ...(ratio !== undefined ? { vsTorch: ratio } : {}) });
      const r = ratio !== undefined ? `${ratio.toFixed(2)}×` : '';
      console.log(`${label.padEnd(16)} ${m.padEnd(10)} ${fmt(med)}   ${r.padStart(7)}   ${xs.map((x) => x.toFixed(0)).join(', ')}`);
    }
  }
  return { rows, failures: Object.fromEntries(failed) };
}

/**
 * Throughput of one process alone and of two processes training at once (aggregate), in
 * interleaved rounds. With 2 cores, ≥ 1.8× means the backend keeps to one core per process.
 */
async function scaling(): Promise<Record<string, unknown>> {
  const vs = argValue('--backends') ? variants() : [variants()[0]!];
  const rows: Record<string, unknown>[] = [];
  for (const v of vs) {
    console.log(`# scaling on ${v.label}: ${runs} rounds of one process alone, then two at once (${seconds}s each)`);
    for (const m of models) {
      const one: number[] = [];
      const two: number[] = [];
      const oneCpu: number[] = [];
      const twoCpu: number[] = [];
      for (let r = 0; r < runs; r++) {
        const alone = (await runTogether(v, m, 1))[0]!;
        one.push(alone.median);
        oneCpu.push(alone.perCpuSecond);
        const pair = await runTogether(v, m, 2);
        two.push(pair.reduce((a, x) => a + x.median, 0));
        twoCpu.push(pair.reduce((a, x) => a + x.perCpuSecond, 0) / 2);
      }
      const speedup = median(two) / median(one);
      // per CPU-second throughput: equal alone and in pairs means the processes do not slow each
      // other down, so with two idle cores the pair would run at 2× (what wall time shows only on
      // an otherwise idle machine)
      const efficiency = median(twoCpu) / median(oneCpu);
      rows.push({ backend: v.label, model: m, one, two, speedup, oneCpu, twoCpu, cpuEfficiency: efficiency, projected: 2 * efficiency });
      console.log(`${v.label.padEnd(10)} ${m.padEnd(10)} wall: 1 process ${fmt(median(one))}, 2 together ${fmt(median(two))} samples/s → ${speedup.toFixed(2)}×;`
        + ` per CPU-second: alone ${fmt(median(oneCpu))}, in a pair ${fmt(median(twoCpu))} → projected ${(2 * efficiency).toFixed(2)}× on 2 idle cores`);
    }
  }
  return { rows };
}

interface KernelRow {
  label: string;
  kernel: string;
  medianMs: number;
  minMs: number;
}

/** bench/kernels.ts once per kernel set (each in its own process), side by side. */
async function kernels(): Promise<Record<string, unknown>> {
  const sets = variants().filter((v) => v.label.startsWith('wasm'));
  if (!sets.some((v) => v.label === 'wasm-stock')) sets.push({ label: 'wasm-stock', env: { FEDSIM_BACKEND: 'wasm', FEDSIM_WASM_KERNELS: 'stock' } });
  const order = ['wasm-stock', 'wasm', 'wasm-blas'];
  sets.sort((a, b) => order.indexOf(a.label) - order.indexOf(b.label));
  const ms = argValue('--ms') ?? '700';
  const tables = new Map<string, KernelRow[]>();
  for (const v of sets) {
    const r = spawnSync(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', join(here, 'kernels.ts'), '--json', '--ms', ms],
      { cwd: repoRoot, env: { ...process.env, ...v.env }, encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (r.status !== 0 || !line) {
      console.log(`# ${v.label}: kernel bench failed: ${r.stderr.trim().split('\n').pop()}`);
      continue;
    }
    tables.set(v.label, (JSON.parse(line) as { rows: KernelRow[] }).rows);
  }
  const labels = [...tables.keys()];
  console.log(`median ms per call (best round in parentheses); ${ms} ms of calls per kernel and set`);
  console.log(`${'case'.padEnd(22)} ${'kernel'.padEnd(21)} ${labels.map((l) => l.padStart(18)).join('')}`);
  const first = tables.get(labels[0]!) ?? [];
  for (const row of first) {
    const cells = labels.map((l) => {
      const x = tables.get(l)!.find((r) => r.label === row.label)!;
      return `${x.medianMs.toFixed(2)} (${x.minMs.toFixed(2)})`.padStart(18);
    });
    console.log(`${row.label.padEnd(22)} ${row.kernel.padEnd(21)} ${cells.join('')}`);
  }
  return Object.fromEntries(tables);
}

/** Child side of runTogether: report readiness, then block until the parent says go. */
async function waitForGo(): Promise<void> {
  console.log('READY');
  await new Promise<void>((ok) => {
    process.stdin.once('data', () => ok());
    process.stdin.once('end', () => ok());
  });
  process.stdin.pause();
}

async function main(): Promise<void> {
  const childModel = argValue('--child');
  if (childModel !== undefined) {
    const { measureTraining } = await import('./lib/train-child.js');
    const sync = process.argv.includes('--sync');
    const r = await measureTraining(childModel as ModelName, batch, seconds, runs, sync ? waitForGo : undefined);
    console.log(`RESULT ${JSON.stringify(r)}`);
    return;
  }
  console.log(`# batch ${batch}, ${runs} runs × ${seconds}s per measurement, median reported; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${load()}`);
  const report = process.argv.includes('--scaling') ? await scaling() : process.argv.includes('--kernels') ? await kernels() : await throughput();
  console.log(`# load average at the end: ${load()}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 1));
}

await main();
