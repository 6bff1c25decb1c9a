import { readFile } from 'node:fs/promises';
import { formatIssues } from '@fedsim/fl/util';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ExperimentConfig } from '@fedsim/runtime';
import { ConfigError, parseExperiment } from '@fedsim/runtime';
import { applyOverrides } from '../config-file.js';

/**
 * A comparison: one base experiment run once per method, everything else equal (data,
 * partition, seed, model, rounds), e.g. configs/compare-fmnist-dir0.1.yaml.
 */
const methodSchema = z
  .object({
    /** the column/legend name; default the algorithm name */
    label: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
    algorithm: z.object({ name: z.string() }).loose(),
    /** per-method overrides of the base, as path=value (e.g. "eval.every=400") */
    set: z.array(z.string()).default([]),
  })
  .strict();

export const comparisonSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    /** experiment config file, relative to this file */
    base: z.string(),
    methods: z.array(methodSchema).min(1),
  })
  .strict();

export interface ComparisonPlan {
  readonly name: string;
  readonly runs: readonly { readonly label: string; readonly runId: string; readonly config: ExperimentConfig }[];
}

export async function loadComparison(path: string, globalOverrides: readonly string[]): Promise<ComparisonPlan> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read comparison file '${path}': ${(err as Error).message}`);
  }
  const parsed = comparisonSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid comparison file ${path}:\n${formatIssues(parsed.error, { style: 'list' })}`,
    );
  }
  const basePath = resolve(dirname(path), parsed.data.base);
  const base: unknown = parseYaml(await readFile(basePath, 'utf8'));
  const labels = new Set<string>();
  const runs = parsed.data.methods.map((m) => {
    const label = m.label ?? m.algorithm.name;
    if (labels.has(label)) throw new ConfigError(`comparison ${path}: two methods are labelled '${label}'; give one a label`);
    labels.add(label);
    const withMethod = { ...(base as Record<string, unknown>), algorithm: m.algorithm };
    const config = parseExperiment(applyOverrides(withMethod, [...m.set, ...globalOverrides]), `${basePath} with method ${label}`);
    return { label, runId: `${parsed.data.name}-${label}`, config: { ...config, name: `${parsed.data.name}-${label}` } };
  });
  return { name: parsed.data.name, runs };
}
