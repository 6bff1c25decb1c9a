import type { ParamSpec } from '../params/spec.js';
import { Rng } from '../util/rng.js';

/**
 * PyTorch's default initialisation for conv and linear layers: weights (kaiming_uniform with
 * a = √5) and biases both reduce to U(−1/√fan_in, +1/√fan_in). Each tensor draws from its own
 * stream keyed by name, so adding or reordering tensors never changes another tensor's values.
 * (Values are float32, so |v| ≤ fround(1/√fan_in), which may exceed the real bound by half an ulp.)
 */
export function initUniformFanIn(spec: ParamSpec, seed: number): Float32Array {
  const out = new Float32Array(spec.size);
  for (const t of spec.tensors) {
    if (!(t.fanIn > 0)) throw new Error(`init: tensor '${t.name}' has fanIn ${t.fanIn}; it must be positive`);
    const bound = 1 / Math.sqrt(t.fanIn);
    const rng = Rng.derive(seed, 'init', t.name);
    const end = t.offset + t.length;
    for (let i = t.offset; i < end; i++) out[i] = (2 * rng.float() - 1) * bound;
  }
  return out;
}
