import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, quantileInPlace, selectInPlace } from '../../src/algorithms/fedobp/quantile.js';
import { Rng } from '../../src/util/rng.js';

/**
 * torch.quantile(linear) by a full sort, written independently of the code under test:
 * v[⌊pos⌋] and v[⌈pos⌉] of the sorted copy, joined by torch's two-sided lerp.
 */
function sortedReference(values: Float32Array, q: number): number {
  const v = Float64Array.from(values).sort();
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const w = pos - lo;
  const a = v[lo]!;
  const b = v[hi]!;
  if (a === b) return a;
  return w < 0.5 ? a + w * (b - a) : b - (1 - w) * (b - a);
}

const QS = [0, 1, 1e-12, 1e-7, 1e-3, 0.25, 0.5, 0.9, 0.999, 0.99992, 1 - 1e-7, 1 - 1e-12];

function vector(seed: number, n: number, kind: 'uniform' | 'few-values' | 'mostly-zero' | 'heavy-tail'): Float32Array {
  const rng = Rng.derive(seed, 'quantile-test', kind, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.float();
    if (kind === 'uniform') out[i] = u * 2 - 1;
    else if (kind === 'few-values') out[i] = Math.floor(u * 4) - 1;
    else if (kind === 'mostly-zero') out[i] = u < 0.97 ? 0 : rng.float();
    else out[i] = Math.pow(u, 8) * 1e6; // many tiny values, a few huge
  }
  return out;
}

test('the selection quantile equals the sort-based one on random vectors, ties included, for tiny and huge q', () => {
  let cases = 0;
  for (const n of [1, 2, 3, 7, 600, 601, 602, 5_000, 60_001]) {
    for (const kind of ['uniform', 'few-values', 'mostly-zero', 'heavy-tail'] as const) {
      const v = vector(3, n, kind);
      for (const q of QS) {
        assert.equal(quantile(v, q), sortedReference(v, q), `n=${n} ${kind} q=${q}`);
        cases++;
      }
    }
  }
  assert.equal(cases, 9 * 4 * QS.length);
});

test('structured inputs (sorted, reversed, constant, organ pipe, sawtooth) match the sort', () => {
  const n = 20_000;
  const shapes: Record<string, (i: number) => number> = {
    ascending: (i) => i,
    descending: (i) => n - i,
    constant: () => 0.5,
    organPipe: (i) => Math.min(i, n - i),
    sawtooth: (i) => i % 37,
    twoValues: (i) => (i % 2 === 0 ? -1 : 1),
  };
  for (const [name, f] of Object.entries(shapes)) {
    const v = Float32Array.from({ length: n }, (_, i) => f(i));
    for (const q of QS) assert.equal(quantile(v, q), sortedReference(v, q), `${name} q=${q}`);
  }
});

test('interpolation lies between the neighbouring order statistics and hits them at integer positions', () => {
  const v = new Float32Array([10, 0, 30, 20]); // sorted: 0 10 20 30
  assert.equal(quantile(v, 0), 0);
  assert.equal(quantile(v, 1), 30);
  assert.equal(quantile(v, 1 / 3), 10);
  assert.equal(quantile(v, 0.5), 15); // pos 1.5
  assert.equal(quantile(v, 0.9), 27); // pos 2.7 → 20 + 0.7·10
  assert.ok(Math.abs(quantile(v, 0.1) - 3) < 1e-12); // pos 0.3
});

test('selectInPlace leaves the k-th order statistic at k, smaller before and larger after', () => {
  for (const kind of ['uniform', 'few-values', 'mostly-zero'] as const) {
    const original = vector(9, 10_007, kind);
    const sorted = original.slice().sort();
    for (const k of [0, 1, 5_003, 10_005, 10_006]) {
      const a = original.slice();
      selectInPlace(a, k);
      assert.equal(a[k], sorted[k], `${kind} k=${k}`);
      for (let i = 0; i < k; i++) assert.ok(a[i]! <= a[k]!, `${kind} k=${k}: a[${i}] > a[k]`);
      for (let i = k + 1; i < a.length; i++) assert.ok(a[i]! >= a[k]!, `${kind} k=${k}: a[${i}] < a[k]`);
      assert.deepEqual(a.slice().sort(), sorted, 'the multiset is preserved');
    }
  }
});

test('quantile does not modify its input; quantileInPlace may', () => {
  const v = vector(4, 1_000, 'uniform');
  const copy = v.slice();
  quantile(v, 0.7);
  assert.deepEqual(v, copy);
  const scratch = v.slice();
  assert.equal(quantileInPlace(scratch, 0.7), quantile(v, 0.7));
});

test('bad input is refused with a clear error', () => {
  assert.throws(() => quantile(new Float32Array(0), 0.5), /no values/);
  assert.throws(() => quantile(new Float32Array([1, NaN, 2]), 0.5), /element 1 is NaN/);
  assert.throws(() => quantile(new Float32Array([1, 2]), 1.5), /q must be in \[0, 1\], got 1.5/);
  assert.throws(() => quantile(new Float32Array([1, 2]), -0.1), /q must be in/);
  assert.throws(() => quantile(new Float32Array([1, 2]), NaN), /q must be in/);
  assert.throws(() => selectInPlace(new Float32Array(3), 3), /k=3 is outside \[0, 2\]/);
});

test('infinite values are ordered like any other', () => {
  const v = new Float32Array([Infinity, 1, -Infinity, 2]);
  assert.equal(quantile(v, 0), -Infinity);
  assert.equal(quantile(v, 1), Infinity);
  assert.equal(quantile(v, 0.5), 1.5);
});
