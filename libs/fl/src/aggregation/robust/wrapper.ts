import { gatherTensors, scatterTensors, subSpec } from '../../params/spec.js';
import type { ParamSpec, TensorSelector } from '../../params/spec.js';
import { Rng } from '../../util/rng.js';
import type { Aggregator, AlgorithmHooks, JsonValue, UpdateForAggregation } from '../../algorithms/types.js';
import { clipToNorm, coordinateMedian, trimmedMean, weightedMean } from './combine.js';
import { dpNoiseStd, isPlainAggregation } from './config.js';
import type { RobustAggregationConfig } from './config.js';

const DEFAULT_TRIM_FRACTION = 0.1;

/**
 * The algorithm's hooks with its weighted-mean aggregation replaced by clipping / a robust
 * combine / central DP noise, as configured; everything else (training, evaluation, personal
 * state) untouched. Returns the hooks as they are when the block changes nothing.
 */
export function withRobustAggregation(
  hooks: AlgorithmHooks,
  /** `aggregatesByWeightedMean`: the algorithm's declaration (Algorithm.aggregatesByWeightedMean) */
  ctx: { algorithm: string; aggregatesByWeightedMean: boolean; spec: ParamSpec; seed: number },
  config: RobustAggregationConfig | undefined,
): AlgorithmHooks {
  if (!config || isPlainAggregation(config)) return hooks;
  if (!ctx.aggregatesByWeightedMean || hooks.upload !== 'model' || subSpec(ctx.spec, hooks.shared).size === 0) {
    throw new Error(`aggregation: algorithm '${ctx.algorithm}' does not aggregate by a weighted mean of models `
      + '(it does not declare aggregatesByWeightedMean, uploads deltas or shares no tensor), '
      + 'so robust aggregation, clipping and DP noise do not apply to it');
  }
  // Clipping and robust combines act per update, so the uploads can no longer be pre-summed by workers.
  const { sumAggregation: _notASum, ...rest } = hooks;
  return {
    ...rest,
    createAggregator: (previousGlobal, round) =>
      robustAggregator({ spec: ctx.spec, shared: hooks.shared, previousGlobal, round, seed: ctx.seed, config }),
  };
}

export interface RobustAggregatorInput {
  readonly spec: ParamSpec;
  readonly shared: TensorSelector;
  readonly previousGlobal: Float32Array;
  readonly round: number;
  /** the experiment seed: DP noise is drawn from Rng.derive(seed, 'central-dp', round) */
  readonly seed: number;
  readonly config: RobustAggregationConfig;
}

/**
 * Buffers the round's updates (a robust combine needs all of them per coordinate), then
 * next = previous + combine(clip(u_i)) on the shared tensors, plus DP noise when configured.
 */
export function robustAggregator(input: RobustAggregatorInput): Aggregator & { report(): Record<string, JsonValue> } {
  const { spec, shared, previousGlobal, config } = input;
  const reference = gatherTensors(spec, previousGlobal, shared);
  const updates: Float64Array[] = [];
  const weights: number[] = [];
  const clip = config.dp?.clipNorm ?? config.clipNorm;
  let clipped = 0;
  let maxNorm = 0;
  let noiseStd = 0;
  return {
    add({ clientId, numSamples, values }: UpdateForAggregation) {
      if (values.length !== reference.length) {
        throw new Error(`update of client ${clientId} has ${values.length} elements, expected ${reference.length}`);
      }
      if (!(numSamples > 0)) throw new Error(`update of client ${clientId} has weight ${numSamples}; weights must be positive`);
      const u = new Float64Array(reference.length);
      for (let i = 0; i < u.length; i++) u[i] = values[i]! - reference[i]!;
      if (clip !== undefined) {
        const norm = clipToNorm(u, clip);
        maxNorm = Math.max(maxNorm, norm);
        if (norm > clip) clipped++;
      }
      updates.push(u);
      weights.push(numSamples);
    },
    finish() {
      const next = previousGlobal.slice();
      const n = updates.length;
      if (n === 0) return next;
      let combined: Float64Array;
      if (config.robust === 'median') combined = coordinateMedian(updates);
      else if (config.robust === 'trimmed-mean') {
        combined = trimmedMean(updates, Math.floor((config.trimFraction ?? DEFAULT_TRIM_FRACTION) * n));
      } else combined = weightedMean(updates, config.dp ? updates.map(() => 1) : weights);
      noiseStd = dpNoiseStd(config, n);
      if (noiseStd > 0) {
        const rng = Rng.derive(input.seed, 'central-dp', input.round);
        for (let i = 0; i < combined.length; i++) combined[i]! += noiseStd * rng.normal();
      }
      const out = new Float32Array(reference.length);
      for (let i = 0; i < out.length; i++) out[i] = reference[i]! + combined[i]!;
      scatterTensors(spec, next, shared, out);
      return next;
    },
    report() {
      return {
        robust: config.robust,
        clients: updates.length,
        ...(clip !== undefined ? { clipNorm: clip, clippedUpdates: clipped, maxUpdateNorm: maxNorm } : {}),
        ...(config.dp ? { dpNoiseStd: noiseStd, dpNoiseMultiplier: config.dp.noiseMultiplier } : {}),
      };
    },
  };
}
