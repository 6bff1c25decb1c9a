import type { Algorithm } from './types.js';
import { fedavg } from './fedavg.js';
import { local } from './local.js';

/** Every algorithm a config can name. Adding one = one file of hooks + one line here. */
const algorithms: readonly Algorithm<never>[] = [fedavg, local] as unknown as readonly Algorithm<never>[];

export const algorithmNames: readonly string[] = algorithms.map((a) => a.name);

export function algorithmByName(name: string): Algorithm<unknown> {
  const a = algorithms.find((x) => x.name === name);
  if (!a) {
    throw new Error(`unknown algorithm '${name}'; allowed: ${algorithmNames.join(', ')}`);
  }
  return a as unknown as Algorithm<unknown>;
}
