import assert from 'node:assert/strict';
import { test } from 'node:test';
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
