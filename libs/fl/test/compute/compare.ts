import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/util/rng.js';

/** Deterministic N(0,1) data for a shape. */
export function randn(seed: number, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  const rng = Rng.derive(seed, 'compute-test', shape.join('x'));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { data, shape: [...shape] };
}

export type Inputs = readonly { data: Float32Array; shape: number[] }[];

/** Runs `f` on the named backend over fresh tensors built from `inputs`; returns every output's data. */
export async function runOn(
  backend: 'wasm' | 'cpu',
  inputs: Inputs,
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`cannot activate backend ${backend}`);
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  try {
    const out = tf.tidy(f.bind(null, ...xs));
    const outs = Array.isArray(out) ? out : [out];
    const data = outs.map((t) => t.dataSync() as Float32Array).map((d) => Float32Array.from(d));
    tf.dispose(outs);
    return data;
  } finally {
    tf.dispose(xs);
  }
}

/**
 * Element-wise |got − want| ≤ atol + rtol·|want|, with atol scaled to the reference's magnitude
 * (float32 sums over thousands of terms in a different order differ in the last bits).
 */
export function closeTo(got: Float32Array, want: Float32Array, what: string, rtol = 1e-4, atolRel = 1e-5): string | undefined {
  if (got.length !== want.length) return `${what}: length ${got.length} ≠ ${want.length}`;
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  const atol = atolRel * Math.max(scale, 1e-6);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = Math.abs(g - w);
    if (!(err <= atol + rtol * Math.abs(w)) && (worst < 0 || err > worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst < 0) return undefined;
  return `${what}: element ${worst} is ${got[worst]} but the cpu backend gives ${want[worst]} (|diff| ${worstErr}, scale ${scale})`;
}

/** Runs `f` on wasm and on the reference cpu backend and returns the mismatches (empty when all agree). */
export async function compareWithCpu(
  what: string,
  inputs: Inputs,
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  rtol?: number,
): Promise<string[]> {
  const want = await runOn('cpu', inputs, f);
  const got = await runOn('wasm', inputs, f);
  await tf.setBackend('wasm');
  const problems: string[] = [];
  if (got.length !== want.length) return [`${what}: ${got.length} outputs ≠ ${want.length}`];
  got.forEach((g, i) => {
    const p = closeTo(g, want[i]!, `${what} output ${i}`, rtol);
    if (p) problems.push(p);
  });
  return problems;
}
