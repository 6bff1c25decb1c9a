import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { AlgorithmEnv, ClientState, Instruction } from '../../src/algorithms/types.js';
import {
  EMA_STATE,
  LAST_STATE,
  applyPatch,
  candidatesOf,
  fedobp,
  fedobpOptions,
  importance,
  nominalPatchElements,
  patchFromInstruction,
  personalisation,
} from '../../src/algorithms/fedobp/index.js';
import type { FedObpOptions, FedObpReport } from '../../src/algorithms/fedobp/index.js';
import { algorithmByName } from '../../src/algorithms/registry.js';
import type { ClientData } from '../../src/data/types.js';
import { createModel } from '../../src/models/index.js';
import { encodeBlob } from '../../src/params/codec.js';
import { selectAll, tensorByName } from '../../src/params/spec.js';
import { evaluate } from '../../src/train/evaluate.js';
import { Rng } from '../../src/util/rng.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [4], numClasses: 3 });
const spec = model.spec;
const SEED = 5;
const env: AlgorithmEnv = {
  model,
  numClients: 4,
  seed: SEED,
  train: { sgd: { lr: 0.05, momentum: 0, weightDecay: 0 }, batchSize: 8, epochs: 1 },
  finetune: { epochs: 1, sgd: { lr: 0.05, momentum: 0, weightDecay: 0 } },
};
const hooksOf = (opts: Partial<FedObpOptions> = {}) => fedobp.create(env, fedobpOptions.parse(opts));

/** θ^0 plus seeded noise: a stand-in for a later global model or a trained client model. */
function drifted(seed: number, scale: number): Float32Array {
  const rng = Rng.derive(seed, 'fedobp-hooks-test');
  const base = model.init(SEED);
  return base.map((v) => v + (rng.float() * 2 - 1) * scale);
}

function data(seed: number, n: number): ClientData {
  const rng = Rng.derive(seed, 'fedobp-hooks-data');
  return {
    x: Float32Array.from({ length: n * 4 }, () => rng.float() * 2 - 1),
    y: Int32Array.from({ length: n }, () => Math.floor(rng.float() * 3)),
    n,
    featureShape: [4],
  };
}

const patchOf = (ins: Instruction | undefined) => {
  assert.ok(ins, 'an instruction');
  return patchFromInstruction(ins, spec.size);
};

test('every switch of the spec is an option with its default; unknown or bad values are refused', () => {
  assert.deepEqual(fedobpOptions.parse({}), {
    q: 0.99992,
    score: 'obd',
    ema: false,
    alpha: 0.3,
    norm: 'global',
    headOnly: false,
    firstVisit: 'init',
    emaOnEval: false,
  });
  assert.equal(algorithmByName('fedobp'), fedobp);
  assert.throws(() => fedobpOptions.parse({ q: 1.5 }));
  assert.throws(() => fedobpOptions.parse({ norm: 'batch' }));
  assert.throws(() => fedobpOptions.parse({ score: 'grad' }));
  assert.throws(() => fedobpOptions.parse({ ig_ratio: 0.9 }), /ig_ratio/);
});

test('declaration: everything trained, uploaded and FedAvg-averaged; train jobs download no state', () => {
  const h = hooksOf();
  assert.equal(h.upload, 'model');
  assert.ok(h.hasGlobalModel);
  assert.deepEqual(h.trainState, []);
  assert.ok(spec.tensors.every((t) => h.shared(t) && !h.personal(t)));
  const prev = new Float32Array(spec.size);
  const agg = h.createAggregator(prev, 0);
  agg.add({ clientId: 0, numSamples: 1, values: new Float32Array(spec.size).fill(1) });
  agg.add({ clientId: 1, numSamples: 3, values: new Float32Array(spec.size).fill(5) });
  const next = agg.finish();
  assert.ok(next.every((v) => v === 4), 'sample-weighted mean of all elements');
});

test("first visit 'init': θ_last is θ^0 = model.init(seed); the patch carries θ^0's values", () => {
  const h = hooksOf({ q: 0.999 });
  const global = drifted(1, 0.05);
  const r = h.instruct!({ clientId: 2, round: 3, global, state: undefined });
  const patch = patchOf(r.instruction);
  const init = model.init(SEED);
  assert.ok(patch.indices.length > 0);
  assert.deepEqual([...patch.values], [...patch.indices].map((k) => init[k]!));
  const report = r.report as FedObpReport;
  assert.equal(report.firstVisit, true);
  assert.equal(report.personalised, patch.indices.length);
  assert.equal(Object.values(report.byTensor).reduce((s, n) => s + n, 0), patch.indices.length);
  assert.equal(report.patchBytes, 8 * patch.indices.length);
  assert.equal(report.fullModelBytes, 4 * spec.size);
  assert.equal(report.candidates, spec.size);
  assert.equal(r.state, undefined, 'no EMA state with ema off');
  // At round 0 θ_g = θ^0: nothing differs, so nothing is personalised.
  assert.equal(patchOf(h.instruct!({ clientId: 2, round: 0, global: init, state: undefined }).instruction).indices.length, 0);
});

test("first visit 'global': θ_last = θ_g, so a new client gets an empty patch", () => {
  const h = hooksOf({ q: 0.5, firstVisit: 'global' });
  const r = h.instruct!({ clientId: 0, round: 4, global: drifted(1, 0.05), state: undefined });
  assert.equal(patchOf(r.instruction).indices.length, 0);
});

test('a returning client gets θ_last at the elements above τ; headOnly keeps the patch in the head', () => {
  const global = drifted(1, 0.05);
  const last = drifted(2, 0.05);
  const state: ClientState = { [LAST_STATE]: last };
  const full = patchOf(hooksOf({ q: 0.99 }).instruct!({ clientId: 1, round: 2, global, state }).instruction);
  assert.ok(full.indices.length > 0);
  assert.deepEqual([...full.values], [...full.indices].map((k) => last[k]!));
  const r = hooksOf({ q: 0.9, headOnly: true }).instruct!({ clientId: 1, round: 2, global, state });
  const headPatch = patchOf(r.instruction);
  const cls = tensorByName(spec, 'classifier.weight');
  assert.ok(headPatch.indices.length > 0);
  assert.ok([...headPatch.indices].every((k) => k >= cls.offset), 'only classifier elements');
  const report = r.report as FedObpReport;
  assert.deepEqual(Object.keys(report.byTensor).every((n) => n.startsWith('classifier')), true);
  assert.equal(report.candidates, candidatesOf(spec, true).size);
});

test('ema: the first preparation stores S = I, the next (1 − α)·I + α·S', () => {
  const h = hooksOf({ ema: true, alpha: 0.25, q: 0.99, score: 'sq_diff' });
  const g1 = drifted(1, 0.05);
  const last = drifted(2, 0.05);
  const cands = candidatesOf(spec, false);
  const r1 = h.instruct!({ clientId: 0, round: 1, global: g1, state: { [LAST_STATE]: last } });
  const s1 = r1.state?.[EMA_STATE];
  assert.ok(s1);
  assert.deepEqual(s1, importance('sq_diff', cands, last, g1));
  const g2 = drifted(3, 0.05);
  const r2 = h.instruct!({ clientId: 0, round: 2, global: g2, state: { [LAST_STATE]: last, [EMA_STATE]: s1 } });
  const i2 = importance('sq_diff', cands, last, g2);
  assert.deepEqual(r2.state?.[EMA_STATE], i2.map((v, k) => 0.75 * v + 0.25 * s1[k]!));
});

test('startModel applies the patch to θ_g; a missing patch is an error', () => {
  const h = hooksOf({ q: 0.99 });
  const global = drifted(1, 0.05);
  const state = { [LAST_STATE]: drifted(2, 0.05) };
  const { instruction } = h.instruct!({ clientId: 1, round: 2, global, state });
  const base = { clientId: 1, round: 2, global, state: undefined, instruction };
  const start = h.startModel!(base);
  assert.deepEqual(start, applyPatch(global, patchOf(instruction)));
  assert.notDeepEqual(start, global);
  assert.throws(() => h.startModel!({ ...base, instruction: undefined }), /client 1 in round 2 has no personalisation patch/);
});

test('fit trains from the patched start and stores the trained model as θ_last', async () => {
  const h = hooksOf({ q: 0.99 });
  const global = drifted(1, 0.05);
  const { instruction } = h.instruct!({ clientId: 1, round: 2, global, state: undefined });
  const start = h.startModel!({ clientId: 1, round: 2, global, state: undefined, instruction });
  const r = await h.fit({ clientId: 1, round: 2, global, start, state: undefined, instruction, train: data(1, 24), seed: 9 });
  assert.equal(r.state?.[LAST_STATE], r.trained);
  assert.notDeepEqual(r.trained, start);
});

test('evaluate: personalised = θ_g merged with the patch recomputed from state; global = θ_g', async () => {
  const opts = fedobpOptions.parse({ q: 0.9, ema: true });
  const h = fedobp.create(env, opts);
  const global = drifted(1, 0.3);
  const last = drifted(2, 0.3);
  const test_ = data(2, 40);
  const state = { [LAST_STATE]: last };
  const expected = personalisation(opts, candidatesOf(spec, false), last, global, undefined, false).plan.patch;
  const got = await h.evaluate({ clientId: 0, round: 5, global, state, train: data(1, 8), test: test_, seed: 1 });
  assert.deepEqual(got.personalized, await evaluate(model, applyPatch(global, expected), test_));
  assert.deepEqual(got['global'], await evaluate(model, global, test_));
  assert.notDeepEqual(got.personalized, got['global'], 'the patch changes predictions here');
});

test('emaOnEval: off evaluates with the stored S, on takes one (unsaved) EMA step', () => {
  const cands = candidatesOf(spec, false);
  const global = drifted(1, 0.05);
  const last = drifted(2, 0.05);
  // A stored history that points somewhere else entirely: the first 50 elements.
  const history = new Float32Array(cands.size);
  history.fill(1, 0, 50);
  const opts = fedobpOptions.parse({ ema: true, alpha: 0.5, q: 0.99, norm: 'none' });
  const off = personalisation(opts, cands, last, global, history, false);
  const on = personalisation(opts, cands, last, global, history, true);
  assert.deepEqual([...off.plan.patch.indices], [...Array(50).keys()], 'stored S decides: τ = 0, the 50 ones are above');
  assert.deepEqual(off.score, history);
  const raw = importance('obd', cands, last, global);
  assert.deepEqual(on.score, raw.map((v, k) => 0.5 * v + 0.5 * history[k]!));
  assert.notDeepEqual([...on.plan.patch.indices], [...off.plan.patch.indices]);
});

test('a stored θ_last of the wrong size names the client and round', () => {
  const h = hooksOf();
  assert.throws(
    () => h.instruct!({ clientId: 7, round: 3, global: model.init(SEED), state: { [LAST_STATE]: new Float32Array(3) } }),
    /fedobp \(client 7, round 3\): stored θ_last has 3 elements/,
  );
  // selectAll is referenced so the declaration test above cannot drift from base's helpers.
  assert.ok(selectAll(spec.tensors[0]!));
});

test('transferBytes (virtual time): θ_g and the encoded patch instruction down, the full model up', () => {
  const q = 0.99;
  // mlp 4 → 200 → 200 → 3: 1000 + 40200 + 603 candidates; above the linear 0.99-quantile of
  // 41803 distinct scores: 41802 − ⌊0.99 · 41802⌋ = 41802 − 41383 = 419 elements.
  assert.equal(spec.size, 41803);
  assert.equal(nominalPatchElements(spec.size, q), 419);
  assert.equal(nominalPatchElements(spec.size, 0), spec.size);
  assert.equal(nominalPatchElements(spec.size, 1), 0);

  const instructionBytes = (i: Instruction) => encodeBlob({ kind: 'instruction', meta: { ...i.meta }, arrays: { ...i.arrays } }).byteLength;
  const encoded = { model: 1000, update: 2000, instruction: instructionBytes };
  const hooks = hooksOf({ q });
  const t = hooks.transferBytes!(3, encoded);
  // header 16 + manifest padded to 8 + indices 419·4 = 1676 → 1680 + values 1676 → 1680 + trailer 8
  const manifest =
    '{"kind":"instruction","meta":{"round":100,"clientId":3,"personalised":419,"threshold":0.12345678901234568},' +
    '"arrays":[{"name":"indices","dtype":"u32","length":419,"offset":0},{"name":"values","dtype":"f32","length":419,"offset":1680}]}';
  const padded = Math.ceil(manifest.length / 8) * 8;
  assert.deepEqual(t, { download: 1000 + 16 + padded + 1680 + 1680 + 8, upload: 2000 });

  // What the server really writes for a returning client (distinct scores) differs only in the
  // meta's threshold and round digits: within one 8-byte padding step.
  const global = drifted(1, 0.05);
  const state: ClientState = { [LAST_STATE]: drifted(2, 0.05) };
  const real = hooks.instruct!({ clientId: 3, round: 7, global, state }).instruction!;
  assert.equal(patchOf(real).indices.length, 419);
  assert.ok(Math.abs(t.download - 1000 - instructionBytes(real)) <= 8, `${t.download - 1000} vs ${instructionBytes(real)}`);
});
