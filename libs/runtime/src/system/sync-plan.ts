import { availabilityFor, clientSeconds, localSamples, planSyncRounds, sampledProfile, traceProfile } from '@fedsim/fl/system';
import type { Availability, DeviceProfile, SyncRoundPlan, SystemConfig } from '@fedsim/fl/system';
import type { Partition } from '@fedsim/fl/data';
import type { ExperimentConfig } from '../config/experiment.js';
import { ConfigError } from '../errors/run.js';
import { readDeviceTrace } from './device-trace.js';

export interface TransferSizes {
  /** bytes a client downloads per round (the encoded global model) */
  readonly downloadBytes: number;
  /** bytes of its encoded update (the shared tensors) */
  readonly uploadBytes: number;
}

/**
 * The synchronous rounds of a run with a `system` block, planned in virtual time before any
 * client trains: who is sampled, who trains, who is dropped and why, and when each round closes.
 */
export async function planSystemRounds(
  config: ExperimentConfig & { readonly system: SystemConfig },
  partition: Partition,
  perRound: number,
  sizesOf: (clientId: number) => TransferSizes,
  /** samples a client's local work processes (the algorithm's localWorkSamples); default: one local training */
  workSamplesOf?: (numTrain: number) => number,
): Promise<SyncRoundPlan[]> {
  const { system } = config;
  if (system.mode.kind !== 'sync') throw new ConfigError(`system.mode: '${system.mode.kind}' rounds are not planned as synchronous rounds`);
  const plans = planSyncRounds({
    seed: config.seed,
    rounds: config.rounds,
    numClients: partition.numClients,
    perRound,
    mode: system.mode,
    ...(await virtualDevices(config, partition, sizesOf, workSamplesOf)),
  });
  const empty = plans.find((p) => p.kept.length === 0);
  if (empty) {
    const why = empty.sampled.length === 0 ? 'no client was online at its start' : 'none of its sampled clients finished in time';
    throw new ConfigError(
      `system: round ${empty.round} would train no client (${why}, virtual time ${empty.startSeconds.toFixed(1)} s); ` +
        'raise system.mode.deadlineSeconds, system.mode.overcommit or the availability',
    );
  }
  return plans;
}

/** Every client's availability and virtual seconds per round, from its device profile and real byte sizes. */
export async function virtualDevices(
  config: ExperimentConfig & { readonly system: SystemConfig },
  partition: Partition,
  sizesOf: (clientId: number) => TransferSizes,
  workSamplesOf: (numTrain: number) => number = (numTrain) => localSamples(numTrain, config.train),
): Promise<{ availability: Availability; secondsOf: (clientId: number) => number }> {
  const { system } = config;
  const trace = system.devices.kind === 'trace' ? await readDeviceTrace(system.devices.file) : null;
  const devices = system.devices;
  const profileOf = (c: number): DeviceProfile =>
    devices.kind === 'trace' ? traceProfile(trace!, c) : sampledProfile(devices, config.seed, c);
  const profiles = Array.from({ length: partition.numClients }, (_, c) => profileOf(c));
  const samples = partition.clients.map((c) => workSamplesOf(c.train.length));
  // once per client: an algorithm's sizes may encode a blob (FedOBP's patch instruction)
  const sizes = partition.clients.map((_, c) => sizesOf(c));
  return {
    availability: availabilityFor(system.availability, config.seed, trace),
    secondsOf: (c) => clientSeconds(profiles[c]!, { ...sizes[c]!, samples: samples[c]! }),
  };
}
