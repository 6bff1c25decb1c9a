import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPatch, patchFromInstruction, patchInstruction, planPatch } from '../../src/algorithms/fedobp/patch.js';
import { quantile } from '../../src/algorithms/fedobp/quantile.js';
import { candidatesOf, emaStep, importance, normalise } from '../../src/algorithms/fedobp/score.js';
import { makeSpec } from '../../src/params/spec.js';
import { Rng } from '../../src/util/rng.js';

// body: a.weight (6) + a.bias (2); head: h.weight (4) + h.bias (2) → 14 elements.
const spec = makeSpec([
  { name: 'a.weight', layer: 'a', layerType: 'dense', kind: 'weight', shape: [3, 2], role: 'body', fanIn: 3 },
  { name: 'a.bias', layer: 'a', layerType: 'dense', kind: 'bias', shape: [2], role: 'body', fanIn: 3 },
  { name: 'h.weight', layer: 'h', layerType: 'dense', kind: 'weight', shape: [2, 2], role: 'head', fanIn: 2 },
  { name: 'h.bias', layer: 'h', layerType: 'dense', kind: 'bias', shape: [2], role: 'head', fanIn: 2 },
]);
const all = candidatesOf(spec, false);
const head = candidatesOf(spec, true);

function random(seed: number, n: number, scale = 1): Float32Array {
  const rng = Rng.derive(seed, 'fedobp-patch-test');
  return Float32Array.from({ length: n }, () => (rng.float() * 2 - 1) * scale);
}

test('obd and sq_diff scores by hand', () => {
  const last = new Float32Array([2, -3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const global = new Float32Array([1, -1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4]);
  const obd = importance('obd', all, last, global);
  // |(2−1)·2| = 2, |(−3+1)·(−3)| = 6, |(0−5)·0| = 0, equal elements 0, last: |(1−4)·1| = 3
  assert.deepEqual([...obd.subarray(0, 4)], [2, 6, 0, 0]);
  assert.equal(obd[13], 3);
  const sq = importance('sq_diff', all, last, global);
  assert.deepEqual([...sq.subarray(0, 4)], [1, 4, 25, 0]);
  assert.equal(sq[13], 9);
  // Head-only candidates are h.weight then h.bias (8..13 of the full layout).
  assert.equal(head.size, 6);
  assert.deepEqual([...importance('sq_diff', head, last, global)], [0, 0, 0, 0, 0, 9]);
});

test('EMA: the first time S = I, afterwards S = (1 − α)·I + α·S', () => {
  const i1 = new Float32Array([1, 2]);
  const s1 = emaStep(i1, undefined, 0.3);
  assert.deepEqual([...s1], [1, 2]);
  assert.notEqual(s1, i1, 'a copy, not the input');
  const s2 = emaStep(new Float32Array([11, 0]), s1, 0.3);
  assert.deepEqual([...s2], [Math.fround(0.7 * 11 + 0.3 * 1), Math.fround(0.3 * 2)]);
  assert.throws(() => emaStep(new Float32Array(3), s1, 0.3), /stored EMA score has 2 elements, the candidates have 3/);
});

test('patches contain exactly the elements whose normalised score is above τ, with θ_last values', () => {
  const bigSpec = makeSpec([
    { name: 'x.weight', layer: 'x', layerType: 'dense', kind: 'weight', shape: [50, 40], role: 'body', fanIn: 50 },
    { name: 'x.bias', layer: 'x', layerType: 'dense', kind: 'bias', shape: [40], role: 'body', fanIn: 50 },
    { name: 'y.weight', layer: 'y', layerType: 'dense', kind: 'weight', shape: [40, 10], role: 'head', fanIn: 40 },
    { name: 'y.bias', layer: 'y', layerType: 'dense', kind: 'bias', shape: [10], role: 'head', fanIn: 40 },
  ]);
  const global = random(1, bigSpec.size);
  const last = random(2, bigSpec.size);
  for (const headOnly of [false, true]) {
    const cands = candidatesOf(bigSpec, headOnly);
    for (const normKind of ['global', 'layer', 'none'] as const) {
      for (const q of [0.5, 0.9, 0.99, 0.999, 1e-6]) {
        const n = normalise(normKind, cands, importance('obd', cands, last, global));
        const plan = planPatch(cands, n, q, last);
        const tau = quantile(n.values, q);
        assert.equal(plan.threshold, tau, `${normKind} q=${q}`);
        // Expected set by a scan of every candidate element.
        const expected: number[] = [];
        let at = 0;
        for (const t of cands.tensors) {
          for (let j = 0; j < t.length; j++) if (n.values[at + j]! > tau) expected.push(t.offset + j);
          at += t.length;
        }
        assert.deepEqual([...plan.patch.indices], expected, `${normKind} q=${q} headOnly=${headOnly}`);
        assert.deepEqual([...plan.patch.values], expected.map((k) => last[k]!));
        const counted = Object.values(plan.byTensor).reduce((s, c) => s + c, 0);
        assert.equal(counted, expected.length);
        if (headOnly) assert.ok(expected.every((k) => k >= cands.tensors[0]!.offset), 'head only');
      }
    }
  }
});

test("'global' normalisation keeps the mask of 'none'; 'layer' can change it", () => {
  const global = random(3, spec.size);
  const last = random(4, spec.size);
  const s = importance('obd', all, last, global);
  const maskOf = (norm: 'global' | 'layer' | 'none') => [...planPatch(all, normalise(norm, all, s), 0.7, last).patch.indices];
  assert.deepEqual(maskOf('global'), maskOf('none'));
  // One tensor with tiny scores: per-tensor normalisation lifts its maximum to 1.
  const scores = new Float32Array(spec.size).fill(0);
  scores.set([1, 2, 3, 4, 5, 6], 0); // a.weight
  scores.set([0.001, 0.002], 6); // a.bias
  const none = [...planPatch(all, normalise('none', all, scores), 0.8, last).patch.indices];
  const layer = [...planPatch(all, normalise('layer', all, scores), 0.8, last).patch.indices];
  assert.ok(!none.includes(7) && layer.includes(7), `none=${none} layer=${layer}`);
});

test('flat scores: global max = min shares everything; a flat tensor under layer norm is shared', () => {
  const last = random(5, spec.size);
  const flat = planPatch(all, normalise('global', all, new Float32Array(spec.size).fill(2)), 0.5, last);
  assert.equal(flat.patch.indices.length, 0);
  assert.equal(flat.threshold, null);
  const scores = Float32Array.from({ length: spec.size }, (_, i) => i + 1);
  scores.fill(7, 6, 8); // a.bias flat
  const n = normalise('layer', all, scores);
  assert.deepEqual(n.forcedShared, [false, true, false, false]);
  const plan = planPatch(all, n, 0, last);
  assert.equal(plan.patch.indices.length, spec.size, 'q = 0 still personalises every candidate');
  const plan2 = planPatch(all, n, 1e-9, last);
  assert.ok(![...plan2.patch.indices].some((k) => k === 6 || k === 7), 'flat tensor stays shared');
});

test('q = 1 personalises nothing; q = 0 personalises every candidate', () => {
  const last = random(6, spec.size);
  const s = importance('obd', all, last, random(7, spec.size));
  for (const norm of ['global', 'layer', 'none'] as const) {
    assert.equal(planPatch(all, normalise(norm, all, s), 1, last).patch.indices.length, 0, norm);
    const everything = planPatch(all, normalise(norm, all, s), 0, last);
    assert.deepEqual([...everything.patch.indices], [...Array(spec.size).keys()], norm);
    assert.deepEqual(everything.patch.values, last);
    assert.equal(everything.threshold, null);
  }
  const headAll = planPatch(head, normalise('global', head, importance('obd', head, last, random(7, spec.size))), 0, last);
  assert.deepEqual([...headAll.patch.indices], [8, 9, 10, 11, 12, 13]);
});

test('applyPatch replaces exactly the patched elements, on a copy', () => {
  const global = new Float32Array([0, 1, 2, 3, 4]);
  const out = applyPatch(global, { indices: new Uint32Array([1, 4]), values: new Float32Array([10, 40]) });
  assert.deepEqual([...out], [0, 10, 2, 3, 40]);
  assert.deepEqual([...global], [0, 1, 2, 3, 4]);
  assert.throws(
    () => applyPatch(global, { indices: new Uint32Array([5]), values: new Float32Array([1]) }),
    /patch index 5 is outside the model \(5 elements\)/,
  );
  assert.throws(
    () => applyPatch(global, { indices: new Uint32Array([1, 2]), values: new Float32Array([1]) }),
    /2 indices but 1 values/,
  );
});

test('a patch survives the instruction form; malformed instructions are refused', () => {
  const patch = { indices: new Uint32Array([3, 9]), values: new Float32Array([0.5, -0.5]) };
  const ins = patchInstruction(patch, { round: 2 });
  assert.deepEqual(patchFromInstruction(ins, spec.size), patch);
  assert.throws(
    () => patchFromInstruction({ meta: {}, arrays: { indices: new Float32Array(1), values: new Float32Array(1) } }, 14),
    /'indices' is missing or not uint32/,
  );
  assert.throws(() => patchFromInstruction({ meta: {}, arrays: { indices: new Uint32Array(1) } }, 14), /'values'/);
});
