import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fedbabu } from '../../src/algorithms/fedbabu.js';
import { finetuneEvaluate } from '../../src/algorithms/base.js';
import type { AlgorithmEnv, EvalInput, FitInput } from '../../src/algorithms/types.js';
import { clientData, syntheticDataset } from '../../src/data/index.js';
import { createModel } from '../../src/models/index.js';
import { gatherTensors, selectRole, subSpec } from '../../src/params/spec.js';
import { evaluate } from '../../src/train/evaluate.js';
import { useCpuBackend } from '../support/tf-cpu.js';

before(useCpuBackend);

const model = createModel('mlp', { inputShape: [8], numClasses: 3 });
const spec = model.spec;
const dataset = syntheticDataset({ seed: 5, numSamples: 120, numClasses: 3, featureShape: [8] });
const rows = (from: number, to: number) => clientData(dataset, Array.from({ length: to - from }, (_, i) => from + i));
const sgd = { lr: 0.1, momentum: 0.5, weightDecay: 0.01 };
const env: AlgorithmEnv = {
  model,
  numClients: 2,
  seed: 1,
  train: { sgd, batchSize: 16, epochs: 2 },
  finetune: { epochs: 2, sgd: { ...sgd, lr: 0.05 } },
};
const body = selectRole('body');
const head = selectRole('head');
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const create = (raw: Record<string, unknown> = {}) => fedbabu.create(env, fedbabu.options.parse(raw));

function fitInput(global: Float32Array): FitInput {
  return { clientId: 0, round: 0, global, start: global, state: undefined, instruction: undefined, train: rows(0, 80), seed: 7 };
}

test('options: weighted by default, keepFinetuned refused with a reason, unknown keys refused', () => {
  assert.deepEqual(fedbabu.options.parse({}), { weighted: true, keepFinetuned: false });
  assert.equal(fedbabu.options.parse({ weighted: false }).weighted, false);
  const keep = fedbabu.options.safeParse({ keepFinetuned: true });
  assert.ok(!keep.success && /keepFinetuned=true is not supported/.test(keep.error.message));
  assert.equal(fedbabu.options.safeParse({ finetuneEpochs: 5 }).success, false);
});

test('declaration: body shared and uploaded as the model, no personal tensors', () => {
  const hooks = create();
  assert.deepEqual(spec.tensors.filter(hooks.shared).map((t) => t.name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  assert.equal(spec.tensors.filter(hooks.personal).length, 0);
  assert.equal(hooks.upload, 'model');
  assert.equal(subSpec(spec, hooks.shared).size, subSpec(spec, body).size);
});

test('a head-only model is refused with a clear error', () => {
  const logreg = createModel('logreg', { inputShape: [8], numClasses: 3 });
  assert.throws(() => fedbabu.create({ ...env, model: logreg }, fedbabu.options.parse({})), /fedbabu: model 'logreg' has no body tensors/);
});

test('fit trains the body and returns the head bit-identical despite weight decay', async () => {
  const global = model.init(3);
  const fit = await create().fit(fitInput(global));
  assert.ok(fit.steps > 0);
  assert.ok(bytesOf(gatherTensors(spec, fit.trained, head)).equals(bytesOf(gatherTensors(spec, global, head))));
  const bodyBefore = gatherTensors(spec, global, body);
  const bodyAfter = gatherTensors(spec, fit.trained, body);
  assert.ok(bodyAfter.some((v, i) => v !== bodyBefore[i]), 'the body was trained');
});

test('aggregation averages the body only (weighted or not) and keeps the previous head', () => {
  const previous = model.init(4);
  const n = subSpec(spec, body).size;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n).fill(4);
  for (const [weighted, expected] of [[true, 3], [false, 2.5]] as const) {
    const agg = create({ weighted }).createAggregator(previous, 0);
    agg.add({ clientId: 0, numSamples: 1, values: a });
    agg.add({ clientId: 1, numSamples: 2, values: b });
    const next = agg.finish();
    assert.ok(gatherTensors(spec, next, body).every((v) => v === expected), `weighted=${weighted}`);
    assert.ok(bytesOf(gatherTensors(spec, next, head)).equals(bytesOf(gatherTensors(spec, previous, head))));
  }
});

test('evaluate: before = θ_g, after = θ_g fine-tuned (all tensors), personalized = after', async () => {
  const global = model.init(6);
  const input: EvalInput = { clientId: 1, round: 3, global, state: undefined, train: rows(0, 80), test: rows(80, 120), seed: 9 };
  const r = await create().evaluate(input);
  assert.deepEqual(r.before, await evaluate(model, global, input.test));
  assert.deepEqual(r.global, r.before);
  const expected = await finetuneEvaluate(env, global, input);
  assert.deepEqual(r.after, expected.after);
  assert.deepEqual(r.personalized, r.after);
  assert.notDeepEqual(r.after, r.before, 'fine-tuning changed the model');
});
