import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initCompute, releaseComputeMemory } from '../../src/compute/index.js';
import { SimdKernels, simdKernelBuild, GEMM, type SimdKernelBuild } from '../../src/compute/wasm/simd/module.js';
import { closeTo, randn } from './compare.js';

/**
 * The SIMD matmul's contract, element by element: each C element is one running float32 sum over
 * k in order (from 0, or from C's old value), then + bias, then ReLU. The plain build must give
 * exactly the bytes of that loop in JS; the relaxed build fuses each multiply-add.
 */

let backend: BackendWasm;
before(async () => {
  delete process.env['FEDSIM_BACKEND'];
  delete process.env['FEDSIM_WASM_KERNELS'];
  await initCompute({ prefer: 'wasm', log: () => {} });
  backend = tf.backend() as BackendWasm;
});

interface Layout {
  readonly name: string;
  readonly aT: boolean;
  readonly cT: boolean;
  readonly flags: number;
}

const LAYOUTS: Layout[] = [
  { name: 'plain', aT: false, cT: false, flags: 0 },
  { name: 'Aᵀ', aT: true, cT: false, flags: 0 },
  { name: 'Cᵀ', aT: false, cT: true, flags: 0 },
  { name: 'bias + relu', aT: false, cT: false, flags: GEMM.bias | GEMM.relu },
  { name: 'accumulate + bias', aT: true, cT: false, flags: GEMM.accumulate | GEMM.bias },
  { name: 'accumulate, Cᵀ', aT: false, cT: true, flags: GEMM.accumulate },
];

/** (M, N, K): tails of the 4-row and 8-column tiles, several K blocks (128) and A blocks (64 rows), K = 0 */
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 8, 128], [5, 9, 129], [67, 17, 300], [130, 8, 3], [6, 3, 0]];

/** The contract in JS; `fused` rounds acc + a·b once (a·b of two float32 is exact in a double). */
function reference(M: number, N: number, K: number, a: Float32Array, b: Float32Array, c0: Float32Array, bias: Float32Array, l: Layout, fused: boolean): Float32Array {
  const f = Math.fround;
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = l.flags & GEMM.accumulate ? c0[i * N + j]! : 0;
      for (let k = 0; k < K; k++) {
        const av = l.aT ? a[k * M + i]! : a[i * K + k]!;
        const p = av * b[k * N + j]!;
        acc = fused ? f(acc + p) : f(acc + f(p));
      }
      if (l.flags & GEMM.bias) acc = f(acc + bias[j]!);
      if (l.flags & GEMM.relu && acc < 0) acc = 0;
      c[i * N + j] = acc;
    }
  }
  return c;
}

function run(simd: SimdKernels, M: number, N: number, K: number, l: Layout, seed: number): { got: Float32Array; want: Float32Array; fusedWant: Float32Array } {
  const a = randn(seed, [Math.max(M * K, 1)]).data;
  const b = randn(seed + 1, [Math.max(K * N, 1)]).data;
  const c0 = randn(seed + 2, [Math.max(M * N, 1)]).data;
  const bias = randn(seed + 3, [Math.max(N, 1)]).data;
  const put = (v: Float32Array) => {
    const t = backend.makeOutput([v.length], 'float32');
    (backend.typedArrayFromHeap(t) as Float32Array).set(v);
    return t;
  };
  const [ta, tb, tbias] = [put(a), put(b), put(bias)];
  // C in the layout under test (row-major, or transposed when cT), holding c0 for accumulate
  const cStored = new Float32Array(Math.max(M * N, 1));
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) cStored[l.cT ? j * M + i : i * N + j] = c0[i * N + j]!;
  const tc = put(cStored);
  const [ars, acs] = l.aT ? [4, M * 4] : [K * 4, 4];
  const [crs, ccs] = l.cT ? [4, M * 4] : [N * 4, 4];
  const work = simd.scratch(simd.k.gemmWorkBytes(N));
  simd.k.gemm(M, N, K, simd.ptr(ta), ars, acs, simd.ptr(tb), N * 4, simd.ptr(tc), crs, ccs, l.flags, simd.ptr(tbias), work);
  const stored = (backend.typedArrayFromHeap(tc) as Float32Array).slice();
  const got = new Float32Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) got[i * N + j] = stored[l.cT ? j * M + i : i * N + j]!;
  for (const t of [ta, tb, tbias, tc]) backend.disposeData(t.dataId);
  return { got, want: reference(M, N, K, a, b, c0, bias, l, false), fusedWant: reference(M, N, K, a, b, c0, bias, l, true) };
}

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

test('simd128 build: gemm gives exactly the bytes of the in-order float32 loop, for every layout, tail and K block', () => {
  const simd = new SimdKernels(backend, 'simd128');
  let seed = 1;
  for (const l of LAYOUTS) {
    for (const [M, N, K] of SHAPES) {
      const { got, want } = run(simd, M, N, K, l, (seed += 10));
      assert.ok(bytes(got).equals(bytes(want)), `${l.name} ${M}×${N}×${K}: ${closeTo(got, want, 'C') ?? 'differs in bytes only'}`);
    }
  }
  simd.release();
});

function cpuHasFma(): boolean {
  if (process.arch === 'arm64') return true;
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

test('relaxed-simd build: each multiply-add is fused where the CPU has FMA, and the results stay within rounding of the loop', (t) => {
  if (simdKernelBuild() !== 'relaxed-simd') {
    t.skip('this runtime does not accept relaxed SIMD');
    return;
  }
  const simd = new SimdKernels(backend, 'relaxed-simd');
  let seed = 5;
  for (const l of LAYOUTS) {
    for (const [M, N, K] of SHAPES) {
      const { got, want, fusedWant } = run(simd, M, N, K, l, (seed += 10));
      assert.equal(closeTo(got, want, `${l.name} ${M}×${N}×${K}`, 1e-5), undefined);
      if (cpuHasFma()) assert.equal(closeTo(got, fusedWant, `${l.name} ${M}×${N}×${K} (fused)`, 1e-6, 1e-7), undefined);
    }
  }
  // c + a·b with a·b = 1 + 2⁻¹¹ + 2⁻²⁴: rounded first it loses the 2⁻²⁴ that the fused sum keeps
  const a = 1 + 2 ** -12;
  const put = (v: number[]) => {
    const x = backend.makeOutput([v.length], 'float32');
    (backend.typedArrayFromHeap(x) as Float32Array).set(v);
    return x;
  };
  const ta = put([1, a]);
  const tb = put([-(1 + 2 ** -11), a]);
  const results = (['relaxed-simd', 'simd128'] as SimdKernelBuild[]).map((build) => {
    const k = build === 'relaxed-simd' ? simd : new SimdKernels(backend, build);
    const tc = put([7]);
    k.k.gemm(1, 1, 2, k.ptr(ta), 8, 4, k.ptr(tb), 4, k.ptr(tc), 4, 4, 0, 0, k.scratch(k.k.gemmWorkBytes(1)));
    const v = (backend.typedArrayFromHeap(tc) as Float32Array)[0]!;
    backend.disposeData(tc.dataId);
    k.release();
    return v;
  });
  backend.disposeData(ta.dataId);
  backend.disposeData(tb.dataId);
  assert.equal(results[1], 0, 'the plain build rounds the product first');
  if (cpuHasFma()) assert.equal(results[0], 2 ** -24, 'the relaxed build did not fuse the multiply-add');
});

test('the kernels give the same bytes after their scratch was released (between clients)', () => {
  const x = tf.tensor(randn(40, [5, 12, 12, 8]).data, [5, 12, 12, 8]);
  const w = tf.tensor(randn(41, [5, 5, 8, 16]).data, [5, 5, 8, 16]);
  const once = () => {
    const [dx, dw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'))([x, w]);
    const out = [dx!, dw!].map((r) => Buffer.from((r.dataSync() as Float32Array).slice().buffer));
    tf.dispose([dx!, dw!]);
    return out;
  };
  const first = once();
  releaseComputeMemory();
  const second = once();
  tf.dispose([x, w]);
  first.forEach((b, i) => assert.ok(b.equals(second[i]!), `output ${i} changed after the scratch was released`));
});
