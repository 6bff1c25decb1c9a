import assert from 'node:assert/strict';
import { test } from 'node:test';
import { algorithmByName, algorithmNames } from '@fedsim/fl/algorithms';
import { Rng } from '@fedsim/fl/util';
import { ConfigError, parseExperiment } from '../../src/config/experiment.js';

const valid = {
  name: 'unit',
  data: { kind: 'synthetic', numSamples: 200, featureShape: [8], numClasses: 3 },
  partition: { kind: 'iid', numClients: 4 },
  model: 'logreg',
  algorithm: { name: 'fedavg' },
  rounds: 2,
};

const errorOf = (raw: unknown): string => {
  try {
    parseExperiment(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('config was accepted');
};

test('defaults follow docs/specs/protocol.md', () => {
  const cfg = parseExperiment(valid);
  assert.equal(cfg.seed, 42);
  assert.equal(cfg.joinRatio, 0.1);
  assert.deepEqual(cfg.train, { epochs: 5, batchSize: 32, lr: 0.01, momentum: 0.7, weightDecay: 0 });
  assert.equal(cfg.failures.attempts, 3);
});

test('an unknown algorithm names the field and the allowed values', () => {
  const msg = errorOf({ ...valid, algorithm: { name: 'fedmagic' } });
  assert.match(msg, /algorithm\.name/);
  assert.match(msg, /fedavg/);
  assert.match(msg, /local/);
});

test('a bad model name lists the models', () => {
  const msg = errorOf({ ...valid, model: 'resnet' });
  assert.match(msg, /model/);
  assert.match(msg, /fedavgcnn/);
});

test('out-of-range numbers name their path', () => {
  const msg = errorOf({ ...valid, train: { lr: -1 }, joinRatio: 2 });
  assert.match(msg, /train\.lr/);
  assert.match(msg, /joinRatio/);
});

test('unknown fields are rejected, not ignored', () => {
  assert.match(errorOf({ ...valid, round: 3 }), /round/);
  assert.match(errorOf({ ...valid, algorithm: { name: 'fedavg', mu: 0.1 } }), /algorithm.*mu/s);
});

test('missing required fields are named', () => {
  const { rounds: _r, ...noRounds } = valid;
  assert.match(errorOf(noRounds), /rounds/);
});

// A config using most optional blocks, the base of the limit and fuzz tests below.
const rich = {
  name: 'limits',
  seed: 3,
  data: { kind: 'synthetic', numSamples: 300, featureShape: [6], numClasses: 3 },
  partition: { kind: 'dirichlet', numClients: 5, alpha: 0.5, minSamples: 5, testRatio: 0.2 },
  model: 'mlp',
  algorithm: { name: 'fedprox', mu: 0.01 },
  rounds: 3,
  joinRatio: 0.5,
  train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
  eval: { every: 2 },
  failures: { attempts: 2, minSuccessFraction: 0.5, roundDeadlineSeconds: 600 },
  aggregation: { robust: 'trimmed-mean', trimFraction: 0.2, clipNorm: 5 },
};

test('roundDeadlineSeconds above what a Node timer can wait is refused, naming the field', () => {
  assert.match(errorOf({ ...rich, failures: { roundDeadlineSeconds: 3e6 } }), /failures\.roundDeadlineSeconds: must be at most 2147483 s/);
  assert.equal(parseExperiment({ ...rich, failures: { roundDeadlineSeconds: 2_147_483 } }).failures.roundDeadlineSeconds, 2_147_483);
});

test('huge data sizes name the field instead of failing an allocation later', () => {
  assert.match(errorOf({ ...rich, data: { ...rich.data, numSamples: 1e12 } }), /data\.numSamples: numSamples × featureShape = 6\.00e\+12 values/);
  assert.match(errorOf({ ...rich, data: { ...rich.data, featureShape: [1e6, 1e6] } }), /data\.numSamples: .*lower numSamples or featureShape/);
  assert.match(errorOf({ ...rich, partition: { ...rich.partition, numClients: 1e10 } }), /partition\.numClients: must be at most/);
});

test('a missing model says it is required and lists the models', () => {
  const { model: _model, ...noModel } = rich;
  assert.match(errorOf(noModel), /model: is required; set model to one of fedavgcnn, mlp, logreg/);
});

test('the aggregation block: accepted with weighted-mean algorithms, refused with others, fields named', () => {
  assert.deepEqual(parseExperiment(rich).aggregation, { robust: 'trimmed-mean', trimFraction: 0.2, clipNorm: 5 });
  assert.equal(parseExperiment({ ...rich, aggregation: undefined }).aggregation, undefined);
  assert.match(errorOf({ ...rich, algorithm: { name: 'fiarse' } }), /aggregation: .*algorithm 'fiarse' aggregates differently/);
  // the allowed ones are those whose algorithm declares aggregatesByWeightedMean, each accepted
  const allowed = algorithmNames.filter((n) => algorithmByName(n).aggregatesByWeightedMean === true);
  assert.deepEqual([...allowed].sort(), ['apfl', 'ditto', 'fedavg', 'fedavg-ft', 'fedbabu', 'fedobp', 'fedper', 'fedprox', 'fedrep', 'lgfedavg']);
  assert.match(errorOf({ ...rich, algorithm: { name: 'heterofl' } }), new RegExp(`\\(allowed with: ${allowed.join(', ')}\\)`));
  for (const name of algorithmNames) {
    if (allowed.includes(name)) assert.doesNotThrow(() => parseExperiment({ ...rich, algorithm: { name } }), name);
    else assert.match(errorOf({ ...rich, algorithm: { name } }), new RegExp(`aggregation: .*algorithm '${name}' aggregates differently`));
  }
  // an empty block changes nothing, so it is fine with any algorithm
  assert.doesNotThrow(() => parseExperiment({ ...rich, algorithm: { name: 'heterofl' }, aggregation: {} }));
  assert.match(errorOf({ ...rich, aggregation: { robust: 'median', trimFraction: 0.1 } }), /aggregation\.trimFraction: applies to/);
  assert.match(errorOf({ ...rich, aggregation: { robust: 'median', dp: { noiseMultiplier: 1, clipNorm: 1 } } }), /aggregation\.dp: central DP/);
  assert.match(errorOf({ ...rich, aggregation: { dp: { noiseMultiplier: -1, clipNorm: 1 } } }), /aggregation\.dp\.noiseMultiplier/);
});

// Values a hand-edited YAML/JSON file (or a --set) can put anywhere.
const ODD_VALUES: readonly unknown[] = [
  null, undefined, 0, -1, -0, 0.5, 1e308, -1e308, Number.NaN, Infinity, 2 ** 53, 2 ** 31, 1e12, '', 'x', '12', 'fedavg',
  true, false, [], [0], [-1, 1e9], {}, { kind: 'synthetic' }, 'a'.repeat(10_000),
];

type Json = Record<string, unknown> | unknown[];

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

/** One random edit: replace a value, delete a key, or add an unknown one. */
function mutate(root: Json, rng: Rng): void {
  const all = paths(root).filter((p) => p.length > 0);
  const path = all[rng.int(all.length)]!;
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const action = rng.int(10);
  if (action === 0 && !Array.isArray(parent)) delete parent[key];
  else if (action === 1 && !Array.isArray(parent)) parent[`unknown${rng.int(100)}`] = 1;
  else parent[key] = structuredClone(ODD_VALUES[rng.int(ODD_VALUES.length)]);
}

test('fuzz: 2000 seeded random mutations of a rich config parse or fail with a ConfigError naming a field', () => {
  const rng = Rng.derive(20261130, 'config-fuzz');
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const raw = structuredClone(rich) as Json;
    const edits = 1 + rng.int(3);
    for (let e = 0; e < edits; e++) mutate(raw, rng);
    try {
      parseExperiment(raw);
      accepted++;
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        assert.fail(`case ${i} crashed with ${(err as Error)?.stack ?? String(err)}\nconfig: ${JSON.stringify(raw)}`);
      }
      // every line after the header names a field path (or the root)
      const lines = err.message.split('\n');
      assert.match(lines[0]!, /^invalid experiment config/, `case ${i}: ${err.message}`);
      for (const line of lines.slice(1)) assert.match(line, /^ {2}- [\w.()]+: \S/, `case ${i}: ${err.message}`);
    }
  }
  // some mutations are harmless (e.g. another rich number): the fuzz reaches both outcomes
  assert.ok(accepted > 20 && accepted < 1900, `${accepted} of 2000 accepted`);
});
