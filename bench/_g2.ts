import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '@fedsim/fl/compute';
import { simdKernelsFor } from '../libs/fl/src/compute/wasm/simd/module.js';
await initCompute({ prefer: 'wasm', log: () => {} } as never);
const be = tf.backend() as never;
const s = simdKernelsFor(be);
const heap = (be as { wasm: { _malloc(n: number): number } }).wasm;
const align = Number(process.argv[2] ?? '0');
const A = heap._malloc(8 << 20) + align, B = heap._malloc(4 << 20) + align, C = heap._malloc(8 << 20) + align, W = heap._malloc(4 << 20) + align;
console.log('ptrs mod 64', A % 64, B % 64, C % 64, W % 64);
function run(name: string, M: number, N: number, K: number, ars: number, acs: number, ldb: number, crs: number, ccs: number) {
  s.k.gemm(M, N, K, A, ars, acs, B, ldb, C, crs, ccs, 0, 0, W);
  let best = 1e9;
  for (let r = 0; r < 5; r++) { const t = performance.now(); let it = 0; while (performance.now() - t < 300) { s.k.gemm(M, N, K, A, ars, acs, B, ldb, C, crs, ccs, 0, 0, W); it++; } best = Math.min(best, (performance.now() - t) / it); }
  console.log(name.padEnd(34), `${best.toFixed(3)} ms ${(2 * M * N * K / best / 1e6).toFixed(1)} GFLOP/s`);
}
run('conv2 fwd block M80 N64 K800', 80, 64, 800, 3200, 4, 256, 256, 4);
run('fc1 fwd M32 N512 K1024', 32, 512, 1024, 4096, 4, 2048, 2048, 4);
