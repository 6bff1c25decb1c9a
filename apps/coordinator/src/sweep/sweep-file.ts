import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '@fedsim/runtime';
import type { SweepPlan } from '@fedsim/runtime/sweep';
import { expandSweep, sweepSpecSchema } from '@fedsim/runtime/sweep';
import type { ReferenceTable } from '../report/reference.js';
import { loadReferenceTable, referenceTableSchema } from '../report/reference.js';
import { formatIssues } from '@fedsim/fl/util';

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
  readonly referenceTable: ReferenceTable | null;
}

/**
 * A sweep file with everything it points at inlined (base config, reference table): what a
 * schedule stores, so the service needs no access to the files it was added from.
 */
export interface SweepBundle {
  readonly file: string;
  readonly spec: Omit<z.input<typeof sweepSpecSchema>, 'base'> & { base: Record<string, unknown> };
  readonly referenceTable: ReferenceTable | null;
}

export async function bundleSweepFile(path: string): Promise<SweepBundle> {
  const file = resolve(path);
  const raw = await readYaml(file, 'sweep file');
  const parsed = sweepFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid sweep file ${path}:\n${formatIssues(parsed.error, { style: 'list' })}`,
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
  const referenceTable = reference ? await loadReferenceTable(reference) : null;
  return { file, spec: { ...spec, base, ...(reference ? { reference } : {}) }, referenceTable };
}

/**
 * Expands a bundle; every run's config is validated, so a bad sweep fails here, before anything
 * runs. `instance` names a scheduled firing (it prefixes the run ids).
 */
export function planFromBundle(bundle: SweepBundle, instance?: string): LoadedSweep {
  const parsed = sweepSpecSchema.safeParse(bundle.spec);
  if (!parsed.success) {
    throw new ConfigError(`invalid sweep ${bundle.file}:\n${formatIssues(parsed.error, { style: 'list' })}`);
  }
  const table = bundle.referenceTable === null ? null : referenceTableSchema.parse(bundle.referenceTable);
  return { ...expandSweep(parsed.data, instance), file: bundle.file, referenceTable: table };
}

/** Reads, bundles and expands a sweep file. */
export async function loadSweepFile(path: string, opts: { name?: string } = {}): Promise<LoadedSweep> {
  return planFromBundle(await bundleSweepFile(path), opts.name);
}
