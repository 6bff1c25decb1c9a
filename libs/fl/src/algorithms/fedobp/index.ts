import { z } from 'zod';
import { selectAll, selectNone } from '../../params/spec.js';
import { evaluate } from '../../train/evaluate.js';
import { sgdFit, weightedMeanAggregation } from '../base.js';
import type { Algorithm, AlgorithmEnv, AlgorithmHooks, ClientState, EncodedSizes, JsonValue } from '../types.js';
import type { PatchPlan } from './patch.js';
import { applyPatch, patchFromInstruction, patchInstruction, patchPayloadBytes, planPatch } from './patch.js';
import type { Candidates } from './score.js';
import { candidatesOf, emaStep, importance, normalise } from './score.js';
import { MissingInstructionError } from '../errors.js';

export * from './patch.js';
export * from './quantile.js';
export * from './score.js';

/** Client-state entry: θ_i_last, the client's full model after its latest local training. */
export const LAST_STATE = 'last';
/** Client-state entry: S_i, the EMA of the scores (candidate layout), only with `ema` on. */
export const EMA_STATE = 'ema';

export const fedobpOptions = z
  .object({
    /**
     * Quantile of the normalised scores above which an element is personalised: about a
     * (1 − q) fraction of the candidates. Default: the authors' FMNIST Dir(0.1) value (docs/specs/fedobp.md
     * table; MNIST 0.9995, CIFAR-10 0.9999 at Dir 0.1). 1 = FedAvg, 0 = Local-only.
     */
    q: z.number().min(0).max(1).default(0.99992),
    /** 'obd' = |(θ_last − θ_g)·θ_last| (the paper), 'sq_diff' = (θ_last − θ_g)² (the later code) */
    score: z.enum(['obd', 'sq_diff']).default('obd'),
    /** smooth each client's scores over its selections */
    ema: z.boolean().default(false),
    /** EMA weight on the history (the authors' FMNIST Dir(0.1) run: 0.3); unused with ema off */
    alpha: z.number().min(0).max(1).default(0.3),
    /** min-max normalisation of the scores: over all candidates, per tensor, or none */
    norm: z.enum(['global', 'layer', 'none']).default('global'),
    /** only the head's elements may be personalised */
    headOnly: z.boolean().default(false),
    /** θ_i_last before a client's first training: the initial model θ^0 (authors) or θ_g */
    firstVisit: z.enum(['init', 'global']).default('init'),
    /**
     * With ema on, let evaluation take one EMA step (as the authors' code does) for the mask it
     * evaluates. An evaluation job cannot write client state, so unlike the authors' code the
     * step is not kept: it never changes the masks of later training rounds.
     */
    emaOnEval: z.boolean().default(false),
  })
  .strict();
export type FedObpOptions = z.infer<typeof fedobpOptions>;

/** Per-client facts the server reports when it prepares a round (the round row's prepareReports). */
export type FedObpReport = {
  readonly personalised: number;
  readonly candidates: number;
  readonly byTensor: Readonly<Record<string, number>>;
  readonly threshold: number | null;
  /** the client-specific download: u32 index + f32 value per personalised element */
  readonly patchBytes: number;
  /** what a full personal model would cost instead (θ_g itself is shared and cacheable) */
  readonly fullModelBytes: number;
  /** true when θ_i_last came from the first-visit rule (the client had not trained yet) */
  readonly firstVisit: boolean;
};

/**
 * The server-side computation for one client: scores from θ_i_last and θ_g, the optional EMA,
 * normalisation, the threshold and the patch. Pure; the hooks decide what is stored.
 */
export function personalisation(
  opts: FedObpOptions,
  cands: Candidates,
  last: Float32Array,
  global: Float32Array,
  history: Float32Array | undefined,
  takeEmaStep: boolean,
): { plan: PatchPlan; score: Float32Array } {
  if (last.length !== global.length) {
    throw new Error(`fedobp: stored θ_last has ${last.length} elements, the model has ${global.length}`);
  }
  const raw = importance(opts.score, cands, last, global);
  let score = raw;
  if (opts.ema && history && history.length !== cands.size) {
    throw new Error(
      `fedobp: stored EMA score has ${history.length} elements, the candidates have ${cands.size} ` +
        '(was the run started with a different headOnly or model?)',
    );
  }
  if (opts.ema) score = takeEmaStep ? emaStep(raw, history, opts.alpha) : (history ?? raw);
  const plan = planPatch(cands, normalise(opts.norm, cands, score), opts.q, last);
  return { plan, score };
}

/** The instruction's meta: what a worker logs with the patch it applies. */
const patchMeta = (round: number, clientId: number, personalised: number, threshold: number | null): Record<string, JsonValue> => ({
  round,
  clientId,
  personalised,
  threshold,
});

/**
 * Elements a patch holds when the candidates' scores are distinct: those strictly above the
 * linear q-quantile of n values, n − 1 − ⌊q(n − 1)⌋ (all n at q = 0). Ties and flat tensors
 * (a client's first visit, when θ_last = θ_g) only make the real patch smaller.
 */
export function nominalPatchElements(candidates: number, q: number): number {
  if (q === 0) return candidates;
  return candidates === 0 ? 0 : candidates - 1 - Math.floor(q * (candidates - 1));
}

/** a round number and a float64 threshold of typical JSON length (round 100, 17 significant digits) */
const TYPICAL_ROUND = 100;
const TYPICAL_THRESHOLD = 0.12345678901234568;

/**
 * A round's transfer for virtual time, planned before any patch exists: θ_g and the encoded
 * patch instruction down (its nominal size; the threshold and round in its meta stand for values of
 * typical length), the full trained model up. The patch is what FedOBP adds to FedAvg's bytes;
 * a full personal model per client is what it saves.
 */
export function fedobpTransferBytes(
  clientId: number,
  encoded: EncodedSizes,
  elements: number,
  q: number,
): { download: number; upload: number } {
  const patch = { indices: new Uint32Array(elements), values: new Float32Array(elements) };
  const meta = patchMeta(TYPICAL_ROUND, clientId, elements, q === 0 ? null : TYPICAL_THRESHOLD);
  return { download: encoded.model + encoded.instruction(patchInstruction(patch, meta)), upload: encoded.update };
}

/**
 * Chen et al. (docs/specs/fedobp.md): everything is trained and FedAvg-aggregated; personalisation is a
 * small per-client patch of θ_i_last's most important elements, computed on the server when the
 * previous round aggregates and applied by the worker to the shared θ_g.
 */
export const fedobp: Algorithm<FedObpOptions> = {
  name: 'fedobp',
  summary: 'FedOBP: FedAvg plus per-client element patches chosen by an OBD score quantile',
  options: fedobpOptions,
  aggregatesByWeightedMean: true,
  create(env, opts) {
    const spec = env.model.spec;
    const cands = candidatesOf(spec, opts.headOnly);
    const patchElements = nominalPatchElements(cands.size, opts.q);
    const firstVisitModel = firstVisitSource(env, opts);
    const lastOf = (state: ClientState | undefined, global: Float32Array) => {
      const stored = state?.[LAST_STATE];
      return stored ? { last: stored, firstVisit: false } : { last: firstVisitModel(global), firstVisit: true };
    };

    const hooks: AlgorithmHooks = {
      personal: selectNone,
      shared: selectAll,
      upload: 'model',
      hasGlobalModel: true,
      // θ_i_last and S_i are read only by the server (instruct) and evaluation: a train job
      // downloads θ_g and the patch, nothing else.
      trainState: [],
      ...weightedMeanAggregation(spec, selectAll),
      transferBytes: (clientId, encoded) => fedobpTransferBytes(clientId, encoded, patchElements, opts.q),

      instruct({ clientId, round, global, state }) {
        const { last, firstVisit } = lastOf(state, global);
        const { plan, score } = withClient(clientId, round, () =>
          personalisation(opts, cands, last, global, state?.[EMA_STATE], true),
        );
        const report: FedObpReport = {
          personalised: plan.patch.indices.length,
          candidates: cands.size,
          byTensor: plan.byTensor,
          threshold: plan.threshold,
          patchBytes: patchPayloadBytes(plan.patch),
          fullModelBytes: spec.size * Float32Array.BYTES_PER_ELEMENT,
          firstVisit,
        };
        return {
          instruction: patchInstruction(plan.patch, patchMeta(round, clientId, report.personalised, plan.threshold)),
          ...(opts.ema ? { state: { [EMA_STATE]: score } } : {}),
          report,
        };
      },

      startModel({ clientId, round, global, instruction }) {
        if (!instruction) {
          throw new MissingInstructionError(
            `fedobp: train job of client ${clientId} in round ${round} has no personalisation patch; ` +
              'the previous round (or round 0 preparation) should have stored one',
          );
        }
        return applyPatch(global, patchFromInstruction(instruction, spec.size));
      },

      async fit(input) {
        const r = await sgdFit(env, input);
        return { ...r, state: { [LAST_STATE]: r.trained } };
      },

      async evaluate(input) {
        const { last } = lastOf(input.state, input.global);
        const { plan } = withClient(input.clientId, input.round, () =>
          personalisation(opts, cands, last, input.global, input.state?.[EMA_STATE], opts.emaOnEval),
        );
        const own = applyPatch(input.global, plan.patch);
        const personalized = await evaluate(env.model, own, input.test);
        return { personalized, global: await evaluate(env.model, input.global, input.test) };
      },
    };
    return hooks;
  },
};

/**
 * θ_i_last for a client that has not trained yet. 'init' needs θ^0, which hooks cannot read from
 * the store; the engine writes θ^0 = model.init(config.seed) as round 0's global model and the
 * initialisation is a pure function of the seed, so it is rebuilt here (once per process, lazily).
 */
function firstVisitSource(env: AlgorithmEnv, opts: FedObpOptions): (global: Float32Array) => Float32Array {
  if (opts.firstVisit === 'global') return (global) => global;
  let initial: Float32Array | undefined;
  return () => (initial ??= env.model.init(env.seed));
}

function withClient<T>(clientId: number, round: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).replace(/^fedobp: /, '');
    throw new Error(`fedobp (client ${clientId}, round ${round}): ${message}`, { cause: err });
  }
}
