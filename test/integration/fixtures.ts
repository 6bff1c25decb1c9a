import type { ExperimentConfig } from '@fedsim/runtime';
import { parseExperiment } from '@fedsim/runtime';

/** Small experiments that still exercise every moving part (partition, eval rounds, state). */
export function syntheticExperiment(overrides: Record<string, unknown> = {}): ExperimentConfig {
  return parseExperiment({
    name: 'it-synthetic',
    seed: 11,
    data: { kind: 'synthetic', numSamples: 900, featureShape: [12], numClasses: 3 },
    partition: { kind: 'dirichlet', numClients: 6, alpha: 0.5, minSamples: 10, testRatio: 0.25 },
    model: 'mlp',
    algorithm: { name: 'fedavg' },
    rounds: 3,
    joinRatio: 0.5,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 2 },
    failures: { attempts: 2, roundDeadlineSeconds: 120 },
    ...overrides,
  });
}

/** The CNN on image-shaped synthetic data: exercises the conv kernels across processes. */
export function syntheticCnnExperiment(): ExperimentConfig {
  return syntheticExperiment({
    name: 'it-cnn',
    data: { kind: 'synthetic', numSamples: 240, featureShape: [28, 28, 1], numClasses: 10 },
    partition: { kind: 'iid', numClients: 4, testRatio: 0.25 },
    model: 'fedavgcnn',
    rounds: 2,
    eval: { every: 2 },
  });
}

/** Slow, flaky phones: heavy-tailed speeds, thin uplinks, 85 % online, a virtual deadline. */
export function heterogeneousExperiment(): ExperimentConfig {
  return syntheticExperiment({
    name: 'it-system',
    system: {
      devices: {
        kind: 'sampled',
        computeSamplesPerSecond: { kind: 'lognormal', median: 20, sigma: 1 },
        downBytesPerSecond: { kind: 'fixed', value: 1e4 },
        upBytesPerSecond: { kind: 'uniform', min: 2e3, max: 1e4 },
      },
      availability: { kind: 'probability', online: 0.85 },
      mode: { kind: 'sync', overcommit: 2, deadlineSeconds: 60 },
    },
  });
}

export const sourceNodeArgs = ['--conditions=fedsim-source', '--import', 'tsx'];

/**
 * FedBuff on identical devices (4 IID clients, equal speeds and bandwidths): every dispatch takes
 * the same virtual time, so arrivals tie and go in client-id order, and the plan can be
 * worked out by hand (fedbuff.test.ts): C = 3 in flight, B = 2 per flush, so the third of
 * each wave arrives one version late.
 */
export function fedBuffExperiment(overrides: Record<string, unknown> = {}): ExperimentConfig {
  return syntheticExperiment({
    name: 'it-fedbuff',
    data: { kind: 'synthetic', numSamples: 400, featureShape: [12], numClasses: 3 },
    partition: { kind: 'iid', numClients: 4, testRatio: 0.25 },
    rounds: 4,
    system: {
      devices: {
        kind: 'sampled',
        computeSamplesPerSecond: { kind: 'fixed', value: 50 },
        downBytesPerSecond: { kind: 'fixed', value: 1e5 },
        upBytesPerSecond: { kind: 'fixed', value: 1e5 },
      },
      mode: { kind: 'fedbuff', concurrency: 3, bufferSize: 2, maxStaleness: 1 },
    },
    ...overrides,
  });
}
