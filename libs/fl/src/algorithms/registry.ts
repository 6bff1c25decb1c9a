import type { Algorithm } from './types.js';
import { fedavg } from './fedavg.js';
import { local } from './local.js';
import { fedavgFt } from './fedavg-ft.js';
import { fedbabu } from './fedbabu.js';
import { fedper } from './fedper.js';
import { fedprox } from './fedprox.js';
import { lgfedavg } from './lgfedavg.js';
import { fedrep } from './fedrep.js';
import { ditto } from './ditto.js';
import { apfl } from './apfl.js';
import { fedobp } from './fedobp/index.js';
import { fiarse } from './fiarse/fiarse.js';
import { heterofl } from './heterofl/heterofl.js';

/**
 * Every algorithm a config can name. Adding one = one file of hooks + one import and one
 * entry here (one per line; keep them alphabetical-ish, order does not matter).
 */
const algorithms = [
  fedavg,
  local,
  fedavgFt,
  fedbabu,
  fedper,
  fedprox,
  lgfedavg,
  fedrep,
  ditto,
  apfl,
  fedobp,
  fiarse,
  heterofl,
] as unknown as readonly Algorithm<unknown>[];

export const algorithmNames: readonly string[] = algorithms.map((a) => a.name);

export function algorithmByName(name: string): Algorithm<unknown> {
  const a = algorithms.find((x) => x.name === name);
  if (!a) {
    throw new Error(`unknown algorithm '${name}'; allowed: ${algorithmNames.join(', ')}`);
  }
  return a;
}
