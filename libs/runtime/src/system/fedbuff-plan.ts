import { planFedBuff } from '@fedsim/fl/system';
import type { FedBuffMode, FedBuffStep, SystemConfig } from '@fedsim/fl/system';
import type { AlgorithmHooks } from '@fedsim/fl/algorithms';
import type { Partition } from '@fedsim/fl/data';
import { subSpec } from '@fedsim/fl';
import type { ParamSpec } from '@fedsim/fl';
import type { ExperimentConfig } from '../config/experiment.js';
import { ConfigError } from '../errors/run.js';
import type { TransferSizes } from './sync-plan.js';
import { virtualDevices } from './sync-plan.js';

type FedBuffConfig = ExperimentConfig & { readonly system: SystemConfig & { readonly mode: FedBuffMode } };

export const isFedBuff = (config: ExperimentConfig): config is FedBuffConfig => config.system?.mode.kind === 'fedbuff';

/**
 * The run's FedBuff steps in virtual time, one per engine round: step r + 1 (the B arrivals that
 * make model version r + 1) is round r. Decided before anyone trains, so stale and offline
 * arrivals are never trained.
 */
export async function planFedBuffRounds(
  config: FedBuffConfig,
  partition: Partition,
  sizesOf: (clientId: number) => TransferSizes,
  /** samples a client's local work processes (the algorithm's localWorkSamples) */
  workSamplesOf?: (numTrain: number) => number,
): Promise<FedBuffStep[]> {
  const { availability, secondsOf } = await virtualDevices(config, partition, sizesOf, workSamplesOf);
  try {
    return planFedBuff({
      seed: config.seed,
      numClients: partition.numClients,
      mode: config.system.mode,
      availability,
      steps: config.rounds,
      secondsOf: (c) => secondsOf(c),
    });
  } catch (e) {
    throw new ConfigError(`system.mode (fedbuff): ${(e as Error).message}`);
  }
}

/** Whether a client's train job reads or writes per-client state (personal tensors or entries). */
export function keepsClientState(hooks: AlgorithmHooks, spec: ParamSpec): boolean {
  return subSpec(spec, hooks.personal).size > 0 || (hooks.personalState?.length ?? 0) > 0 || (hooks.trainState?.length ?? 0) > 0;
}

/**
 * Refuses a FedBuff run whose algorithm or settings it cannot carry. Each update is rebased onto the current model with
 * its staleness discount before the algorithm's own aggregator sees it; what that cannot carry
 * is refused here, before anything is written.
 */
export function assertFedBuffRuns(config: ExperimentConfig, hooks: AlgorithmHooks): void {
  const why = isFedBuff(config) ? fedBuffRefusal(config, hooks) : null;
  if (why) throw new ConfigError(`system.mode fedbuff: ${why}`);
}

function fedBuffRefusal(config: ExperimentConfig, hooks: AlgorithmHooks): string | null {
  const name = config.algorithm.name;
  if (hooks.instruct) {
    return (
      `algorithm '${name}' prepares each client's round on the server from the model that round starts from ` +
      '(FedOBP patches, FIARSE thresholds); FedBuff clients start from older versions, for which nothing is prepared'
    );
  }
  if (typeof config.cohortSize === 'number' && config.cohortSize > 1) {
    return `cohortSize ${config.cohortSize}: FedBuff rebases every update onto the current model by its own staleness, which a cohort's partial sum cannot; use cohortSize 1 or auto`;
  }
  return null;
}

/**
 * Why a planned step cannot run for an algorithm with client state, or null: a client arriving
 * twice in one step would start its second training from state its first has not committed yet.
 */
export function duplicateStatefulArrival(steps: readonly FedBuffStep[]): string | null {
  for (const [round, step] of steps.entries()) {
    const seen = new Set<number>();
    for (const u of step.updates) {
      if (seen.has(u.clientId)) {
        return (
          `client ${u.clientId} arrives twice in round ${round} (model version ${step.version}); with per-client state its ` +
          'second training would start from state the first has not committed. Set system.mode.oncePerFlush: true ' +
          '(a client waits for the flush before it is dispatched again)'
        );
      }
      seen.add(u.clientId);
    }
  }
  return null;
}
