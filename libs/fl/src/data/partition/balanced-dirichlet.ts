import { Rng } from '../../util/rng.js';
import { PartitionError } from '../errors.js';
import type { Partition } from '../types.js';
import type { PartitionOptionsBase } from './common.js';
import { checkCommon, indicesByLabel, splitShuffled } from './common.js';

export interface BalancedDirichletOptions extends PartitionOptionsBase {
  readonly alpha: number;
}

/**
 * FIARSE's split: every client gets exactly ⌊total/N⌋ samples (the remainder is left out). Client
 * i has a class prior p_i ~ Dir(α); one sample at a time, a random client still short of its quota
 * draws a class from p_i and takes that class's next unused sample. Drawing from p_i restricted to
 * the classes not yet used up is the same distribution as resampling until a class has samples
 * left, without the unbounded loop when the remaining classes have tiny prior mass.
 */
export function balancedDirichletPartition(labels: Uint8Array, numClasses: number, opts: BalancedDirichletOptions): Partition {
  const what = 'balanced-dirichlet partition';
  const testRatio = checkCommon(what, labels, numClasses, opts);
  const { numClients: n, alpha, seed } = opts;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new PartitionError(`${what}: alpha must be > 0, got ${alpha}`);
  const quota = Math.floor(labels.length / n);
  if (quota < 1) throw new PartitionError(`${what}: ${n} clients leave less than one sample each; lower numClients`);

  const rng = Rng.derive(seed, 'partition', 'balanced-dirichlet');
  const pools = indicesByLabel(labels, numClasses).map((ix) => rng.shuffle(Uint32Array.from(ix)));
  const used = new Uint32Array(numClasses);
  const available = new Uint8Array(numClasses);
  for (let c = 0; c < numClasses; c++) available[c] = pools[c]!.length > 0 ? 1 : 0;
  const priors = Array.from({ length: n }, () => rng.dirichlet(alpha, numClasses));

  const assigned = Array.from({ length: n }, () => new Uint32Array(quota));
  const filled = new Uint32Array(n);
  const active = Array.from({ length: n }, (_, j) => j);
  while (active.length > 0) {
    const slot = rng.int(active.length);
    const j = active[slot]!;
    const c = drawClass(priors[j]!, available, rng);
    const pool = pools[c]!;
    assigned[j]![filled[j]!++] = pool[used[c]!++]!;
    if (used[c] === pool.length) available[c] = 0;
    if (filled[j] === quota) {
      active[slot] = active[active.length - 1]!;
      active.pop();
    }
  }
  const clients = assigned.map((mine, j) => splitShuffled(mine, testRatio, Rng.derive(seed, 'partition', 'split', j)));
  return { numClients: n, clients };
}

function drawClass(prior: Float64Array, available: Uint8Array, rng: Rng): number {
  let mass = 0;
  let count = 0;
  for (let c = 0; c < prior.length; c++) {
    if (available[c]) {
      mass += prior[c]!;
      count++;
    }
  }
  if (mass > 0) {
    let u = rng.float() * mass;
    let last = -1;
    for (let c = 0; c < prior.length; c++) {
      if (!available[c] || prior[c] === 0) continue;
      last = c;
      u -= prior[c]!;
      if (u < 0) return c;
    }
    return last;
  }
  // The prior puts (numerically) no mass on what is left: take a uniform available class.
  let k = rng.int(count);
  for (let c = 0; c < prior.length; c++) if (available[c] && k-- === 0) return c;
  throw new Error('unreachable: no class available while clients still need samples');
}
