import { InvalidArgumentError, Option } from 'commander';
import { backendChoiceSchema } from '@fedsim/runtime/wiring/index';

/** Shared by the sweep, report and serve commands. */
export const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

export const backendOption = () =>
  new Option('--backend <name>', 'compute backend').choices(backendChoiceSchema.options).default(process.env['FEDSIM_BACKEND'] ?? 'auto');
