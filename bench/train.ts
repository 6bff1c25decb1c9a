/**
 * Training throughput of FedAvgCNN (batch 10 and 32) and the MLP (batch 32) per compute
 * backend, side by side with the PyTorch reference in the same invocation, and optionally
 * two-process scaling, per-kernel timings or a whole FL round.
 *
 *   npm run bench:train                        # wasm-blas (the README path) + wasm (pure npm) + torch (~3 min)
 *   npm run bench:train -- --round             # 20-client FMNIST rounds, embedded, 2 threads: samples/s per core, peak RSS
 *   npm run bench:train -- --baseline          # also the stock wasm kernels (the "before")
 *   npm run bench:train -- --scaling           # 1 process vs 2 concurrent processes
 *   npm run bench:train -- --kernels           # per-kernel ms: stock wasm vs fast wasm vs wasm-blas
 *   npm run bench:train -- --backends wasm,cpu --models mlp --batch 32 --seconds 3 --runs 5 --json out.json
 *
 * Each (backend, model, batch) runs in its own process (a process picks its backend once). Both
 * sides train the same way: plain SGD (lr 0.01, no momentum) on random inputs. Ratios are given
 * by wall time and by CPU time (samples per CPU-second of the process, all threads): on a machine
 * that other work keeps busy the second is the fair per-core figure.
 * Env: FEDSIM_TORCH_BENCH (path of torch_train_bench.py, default ../shared/bench/ from the repo
 * root), FEDSIM_PYTHON (default /usr/bin/python3, Debian's, which has torch).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue } from './lib/args.js';
import type { ChildResult } from './lib/train-child.js';
import type { RoundBenchResult } from './round.js';

type ModelName = 'fedavgcnn' | 'mlp';

interface Variant {
  readonly label: string;
  readonly env: Record<string, string>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const require = createRequire(import.meta.url);

const seconds = Number(argValue('--seconds') ?? '3');
const runs = Number(argValue('--runs') ?? '3');
const models = (argValue('--models') ?? 'fedavgcnn,mlp').split(',') as ModelName[];
/** the (model, batch) pairs measured: the three unless --batch picks one size */
interface Case {
  readonly model: ModelName;
  readonly batch: number;
}
const onlyBatch = argValue('--batch');
const cases: Case[] = (onlyBatch
  ? models.map((model) => ({ model, batch: Number(onlyBatch) }))
  : [{ model: 'fedavgcnn' as const, batch: 10 }, { model: 'fedavgcnn' as const, batch: 32 }, { model: 'mlp' as const, batch: 32 }]
).filter((c) => models.includes(c.model));
/** scaling and kernel modes use one batch size */
const batch = Number(onlyBatch ?? '32');
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
    // the plain SIMD128 build (what runtimes without relaxed SIMD get)
    { label: 'wasm-simd128', env: { FEDSIM_BACKEND: 'wasm', FEDSIM_WASM_KERNELS: 'simd128' } },
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
    if (v.label === 'wasm-simd128') return false;
    if (v.label === 'wasm-blas') return nativeAddon() === undefined;
    // the tfjs cpu backend is two orders of magnitude slower on the CNN: only on request
    return v.label !== 'cpu';
  });
  const why = nativeAddon();
  if (why) console.log(`# wasm-blas skipped: ${why}`);
  console.log(`# backends: ${chosen.map((v) => v.label).join(', ')} (others with --backends, e.g. --backends wasm,wasm-simd128,wasm-stock,cpu)`);
  return chosen;
}

interface Child {
  /** resolves once the child has warmed up (with `sync`, it then waits for `go`) */
  readonly ready: Promise<void>;
  go(): void;
  readonly result: Promise<ChildResult>;
}

function spawnChild(v: Variant, model: ModelName, secs: number, reps: number, sync: boolean, size = batch): Child {
  const args = ['--conditions=fedsim-source', '--import', 'tsx', join(here, 'train.ts'), '--child', model,
    '--batch', String(size), '--seconds', String(secs), '--runs', String(reps), ...(sync ? ['--sync'] : [])];
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

function runChild(v: Variant, c: Case, secs = seconds, reps = runs): Promise<ChildResult> {
  return spawnChild(v, c.model, secs, reps, false, c.batch).result;
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
  samples_per_s: number;
  cpu_s: number;
  cpu_steps: number;
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

interface Rate {
  /** samples per wall-clock second */
  readonly wall: number;
  /** samples per CPU-second of the process (every thread) */
  readonly cpu: number;
}

/** One single-threaded PyTorch measurement of `secs` seconds (bench/lib/torch_cpu.py adds its CPU time). */
function torchOnce(setup: { python: string; script: string }, c: Case, secs: number): Rate {
  const r = spawnSync(setup.python, [join(here, 'lib', 'torch_cpu.py'), setup.script, TORCH_NAMES[c.model], String(c.batch), String(secs)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`torch bench failed: ${r.stderr.trim().split('\n').pop()}`);
  const row = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRow;
  return { wall: row.samples_per_s, cpu: (row.cpu_steps * c.batch) / row.cpu_s };
}

const fmt = (n: number) => n.toFixed(0).padStart(9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

/**
 * Rounds of one short run per (case, backend) and one torch run, interleaved so that every
 * contender sees the same machine load (this machine is shared), then medians per contender.
 */
async function throughput(): Promise<Record<string, unknown>> {
  const vs = variants();
  const torch = torchSetup();
  if (typeof torch === 'string') console.log(`# torch reference skipped: ${torch}`);
  const rates = new Map<string, Rate[]>();
  const failed = new Map<string, string>();
  const add = (key: string, v: Rate) => rates.set(key, [...(rates.get(key) ?? []), v]);
  const caseKey = (c: Case) => `${c.model}@${c.batch}`;
  for (let round = 0; round < runs; round++) {
    for (const c of cases) {
      for (const v of vs) {
        const key = `${v.label}|${caseKey(c)}`;
        if (failed.has(key)) continue;
        try {
          const r = await runChild(v, c, seconds, 1);
          add(key, { wall: r.median, cpu: r.perCpuSecond });
        } catch (e) {
          failed.set(key, (e as Error).message);
        }
      }
      if (typeof torch !== 'string') add(`torch|${caseKey(c)}`, torchOnce(torch, c, seconds));
    }
    console.log(`# round ${round + 1}/${runs} done (load average ${load()})`);
  }
  const rows: Record<string, unknown>[] = [];
  console.log(`\n${'backend'.padEnd(10)} ${'model'.padEnd(10)} batch ${'samples/s'.padStart(9)} ${'÷ torch'.padStart(7)}   ${'per CPU-s'.padStart(9)} ${'÷ torch'.padStart(7)}   runs (wall)`);
  for (const c of cases) {
    const t = rates.get(`torch|${caseKey(c)}`);
    const tWall = t ? median(t.map((x) => x.wall)) : undefined;
    const tCpu = t ? median(t.map((x) => x.cpu)) : undefined;
    for (const label of [...vs.map((v) => v.label), 'torch']) {
      const key = `${label}|${caseKey(c)}`;
      const head = `${label.padEnd(10)} ${c.model.padEnd(10)} ${String(c.batch).padStart(5)}`;
      const err = failed.get(key);
      if (err) {
        console.log(`${head}   unavailable: ${err}`);
        continue;
      }
      const xs = rates.get(key);
      if (!xs) continue;
      const wall = median(xs.map((x) => x.wall));
      const cpu = median(xs.map((x) => x.cpu));
      const vsWall = tWall !== undefined ? wall / tWall : undefined;
      const vsCpu = tCpu !== undefined ? cpu / tCpu : undefined;
      rows.push({ backend: label, model: c.model, batch: c.batch, wall, cpu, runs: xs, vsTorchWall: vsWall, vsTorchCpu: vsCpu });
      const ratio = (r: number | undefined) => (r !== undefined ? `${r.toFixed(2)}×` : '').padStart(7);
      console.log(`${head} ${fmt(wall)} ${ratio(vsWall)}   ${fmt(cpu)} ${ratio(vsCpu)}   ${xs.map((x) => x.wall.toFixed(0)).join(', ')}`);
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

/**
 * bench/round.ts in a process of its own (its peak RSS is the embedded run's), then the PyTorch
 * reference at the same batch size for a per-core comparison.
 */
async function round(): Promise<Record<string, unknown>> {
  const threads = argValue('--threads') ?? '2';
  const rounds = argValue('--rounds') ?? '2';
  console.log(`# ${rounds} rounds of 20 FMNIST clients (Dirichlet 0.1, FedAvgCNN, batch 10, lr 0.005, 1 epoch, all clients), embedded, ${threads} threads`);
  const r = spawnSync(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', join(here, 'round.ts'), '--json', '--threads', threads, '--rounds', rounds],
    { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`bench/round.ts failed (exit ${r.status}): ${r.stdout.slice(-400)}`);
  const res = JSON.parse(line.slice('RESULT '.length)) as RoundBenchResult;
  const torch = torchSetup();
  const ref = typeof torch === 'string' ? undefined : torchOnce(torch, { model: 'fedavgcnn', batch: 10 }, seconds);
  const vs = (x: number, t: number | undefined) => (t ? ` (${(x / t).toFixed(2)}× PyTorch's ${t.toFixed(0)})` : '');
  console.log(`backend ${res.backends.join(', ')}; ${res.samplesPerRound} samples per round; client training ${res.trainSeconds.map((x) => x.toFixed(1)).join(', ')} s per round`);
  console.log(`samples/s per core (client training time): ${res.samplesPerSecondPerCore.toFixed(0)}${vs(res.samplesPerSecondPerCore, ref?.wall)}`);
  console.log(`samples per CPU-second (whole process, rounds without evaluation): ${res.samplesPerCpuSecond.toFixed(0)}${vs(res.samplesPerCpuSecond, ref?.cpu)}`);
  console.log(`peak RSS: ${res.peakRssMiB.toFixed(0)} MiB (target ≤ 600)`);
  if (typeof torch === 'string') console.log(`# torch reference skipped: ${torch}`);
  return { ...res, torch: ref };
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
  console.log(`# ${runs} runs × ${seconds}s per measurement, median reported; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${load()}`);
  const report = process.argv.includes('--round') ? await round() : process.argv.includes('--scaling') ? await scaling() : process.argv.includes('--kernels') ? await kernels() : await throughput();
  console.log(`# load average at the end: ${load()}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 1));
}

await main();
