import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '@fedsim/runtime';
import type { SweepPlan } from '@fedsim/runtime/sweep/expand';
import { expandSweep, sweepSpecSchema } from '@fedsim/runtime/sweep/expand';
import { loadReferenceTable } from '../report/reference.js';

async function readYaml(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${what} '${path}' is not valid YAML: ${(err as Error).message}`);
  }
}

/** The file as written: `base` is an inline config or a path relative to the sweep file. */
const sweepFileSchema = sweepSpecSchema.extend({ base: z.union([z.string(), z.record(z.string(), z.unknown())]) });

export interface LoadedSweep extends SweepPlan {
  readonly file: string;
}

/**
 * Reads and expands a sweep file; every run's config is validated and the reference table (when
 * named) loaded, so a bad sweep fails here, before anything runs. `name` replaces the file's
 * name (a scheduled instance's id).
 */
export async function loadSweepFile(path: string, opts: { name?: string } = {}): Promise<LoadedSweep> {
  const file = resolve(path);
  const raw = await readYaml(file, 'sweep file');
  const parsed = sweepFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid sweep file ${path}:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  const spec = parsed.data;
  let base = spec.base;
  if (typeof base === 'string') {
    const loaded = await readYaml(resolve(dirname(file), base), `base config of sweep ${spec.name}`);
    if (!loaded || typeof loaded !== 'object' || Array.isArray(loaded)) {
      throw new ConfigError(`base config '${base}' of sweep ${spec.name} is not a mapping`);
    }
    base = loaded as Record<string, unknown>;
  }
  const reference = spec.reference === undefined ? undefined : resolve(dirname(file), spec.reference);
  if (reference) await loadReferenceTable(reference);
  const plan = expandSweep({
    ...spec,
    name: opts.name ?? spec.name,
    base,
    ...(reference ? { reference } : {}),
  });
  return { ...plan, file };
}
