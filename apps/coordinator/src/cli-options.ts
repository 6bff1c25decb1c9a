import { InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { formatIssues } from '@fedsim/fl/util';
import { ConfigError } from '@fedsim/runtime';
import { backendChoiceSchema } from '@fedsim/runtime/wiring';
import type { CoordinatorEnv } from './env.js';

/** Shared by every command. */
export const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
export const collect = (v: string, acc: string[]) => [...acc, v];

/** --backend, defaulting to FEDSIM_BACKEND: the option wins over the environment. */
export const backendOption = (env: CoordinatorEnv) =>
  new Option('--backend <name>', 'compute backend (default: FEDSIM_BACKEND or auto)').choices(backendChoiceSchema.options).default(env.FEDSIM_BACKEND);

/** Options shared by the commands that run experiments, as commander hands them over. */
export const runnerOptionsSchema = z.object({
  distributed: z.boolean(),
  out: z.string().min(1),
  workers: z.number().int().positive().optional(),
  backend: backendChoiceSchema,
  set: z.array(z.string()),
  quiet: z.boolean(),
  metricsPort: z.string().optional(),
});

/** Commander's option bag, validated and typed; an error names the flag (`--run-id`, not `runId`). */
export function parseOptions<T extends z.ZodType>(schema: T, options: unknown, command: string): z.output<T> {
  const r = schema.safeParse(options);
  if (r.success) return r.data;
  const asFlag = (key: PropertyKey) => `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const flags = new z.ZodError(r.error.issues.map((i) => ({ ...i, path: i.path.length ? [asFlag(i.path[0]!), ...i.path.slice(1)] : [] })));
  throw new ConfigError(`${command}: ${formatIssues(flags)}`);
}
