/**
 * Per-kernel timings of the heavy ops of one training step, on the active backend.
 * FEDSIM_BACKEND picks the backend, FEDSIM_WASM_KERNELS=fast|simd128|stock the wasm kernel set.
 * Usage: node --conditions=fedsim-source --import tsx bench/kernels.ts [--ms 400] [--json]
 */
import { computeBackendName, initCompute } from '@fedsim/fl/compute';
import { computeOptionsFromEnv } from './lib/compute-env.js';
import { KERNEL_CASES, timeKernel } from './lib/kernel-cases.js';
import { argValue } from './lib/args.js';

const minMs = Number(argValue('--ms') ?? '700');
const asJson = process.argv.includes('--json');
await initCompute({ ...computeOptionsFromEnv(process.env), log: asJson ? () => {} : (m) => console.log(`# ${m}`) });
const rows: { label: string; kernel: string; medianMs: number; minMs: number }[] = [];
if (!asJson) console.log(`${'case'.padEnd(24)} ${'kernel'.padEnd(22)} ${'median ms'.padStart(10)} ${'best ms'.padStart(10)}`);
for (const c of KERNEL_CASES) {
  const t = await timeKernel(c, minMs);
  rows.push({ label: c.label, kernel: c.kernel, ...t });
  if (!asJson) console.log(`${c.label.padEnd(24)} ${c.kernel.padEnd(22)} ${t.medianMs.toFixed(3).padStart(10)} ${t.minMs.toFixed(3).padStart(10)}`);
}
if (asJson) console.log(JSON.stringify({ backend: computeBackendName(), kernels: process.env['FEDSIM_WASM_KERNELS'] ?? 'fast', rows }));
