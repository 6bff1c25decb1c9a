import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ExperimentConfig } from '../config/experiment.js';
import { ConfigError, parseExperiment } from '../config/experiment.js';
import { canonicalJson, configHash } from '../engine/run-record.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/;
const pathPattern = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;
const configPath = z.string().regex(pathPattern, "a dotted config path such as 'partition.alpha'");

/**
 * One entry of `axes`: config path → list of values. An entry naming several paths zips them
 * (equal lengths, value i of each together); the entries themselves form a grid.
 */
const axisEntrySchema = z
  .record(configPath, z.array(z.unknown()).min(1, 'an axis needs at least one value'))
  .refine((e) => Object.keys(e).length > 0, 'an axis entry names at least one config path');

/** Extra settings for the runs whose axis values match `when` (e.g. FedOBP's q per α). */
const overrideSchema = z
  .object({
    when: z.record(configPath, z.unknown()).refine((w) => Object.keys(w).length > 0, '`when` names at least one axis path'),
    set: z.record(configPath, z.unknown()),
  })
  .strict();

/** A sweep file once its base config is loaded (the file may give the base as a path). */
export const sweepSpecSchema = z
  .object({
    name: z.string().regex(namePattern, 'letters, digits, dot, dash and underscore; at most 61 characters'),
    description: z.string().optional(),
    base: z.record(z.string(), z.unknown()),
    /** applied to the base before the axes, as path → value */
    set: z.record(configPath, z.unknown()).default({}),
    axes: z.array(axisEntrySchema).min(1, 'a sweep needs at least one axis'),
    overrides: z.array(overrideSchema).default([]),
    /** runs in flight at once (embedded: sharing the compute threads; distributed: sharing the fleet) */
    concurrency: z.number().int().positive().default(2),
    /** reference table (configs/reference/*.json) the report compares against */
    reference: z.string().optional(),
  })
  .strict();
export type SweepSpec = z.infer<typeof sweepSpecSchema>;

/** One run of a sweep: its values on every axis path, and its validated config. */
export interface SweepRun {
  readonly runId: string;
  /** axis path → value, in axis order */
  readonly values: Readonly<Record<string, unknown>>;
  /** runs that differ only in `seed` share a group (mean ± std over seeds in the report) */
  readonly group: string;
  readonly config: ExperimentConfig;
}

export interface SweepPlan {
  /** the sweep's id: its name, or a scheduled instance's id */
  readonly name: string;
  /** the sweep file's name: every run's config.name, so metric labels stay one value per sweep */
  readonly sweepName: string;
  readonly axisPaths: readonly string[];
  readonly concurrency: number;
  readonly reference?: string;
  readonly runs: readonly SweepRun[];
}

const SEED_PATH = 'seed';

export function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const part of path.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown, where: string): void {
  const parts = path.split('.');
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (child === undefined) node[part] = {};
    else if (typeof child !== 'object' || child === null || Array.isArray(child)) {
      throw new ConfigError(`${where}: cannot set '${path}': '${part}' is ${JSON.stringify(child)}, not an object`);
    }
    node = node[part] as Record<string, unknown>;
  }
  const leaf = parts.at(-1)!;
  // Switching algorithm drops the base algorithm's options (they belong to another method);
  // the new one starts from its defaults plus whatever the sweep sets for it.
  if (path === 'algorithm.name' && node['name'] !== value) {
    for (const k of Object.keys(node)) delete node[k];
  }
  node[leaf] = structuredClone(value);
}

const sameValue = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** A short, filename-safe token for one axis value. */
function valueToken(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const named = (value as Record<string, unknown>)['name'];
    const hash = createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 6);
    return typeof named === 'string' ? `${named}_${hash}` : hash;
  }
  return String(value).replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `algorithm.name` reads as the value alone; other paths as `<last segment>-<value>`. */
function idPart(path: string, value: unknown): string {
  const last = path.split('.').at(-1)!;
  return last === 'name' ? valueToken(value) : `${last}-${valueToken(value)}`;
}

/** The run id from the sweep name and the run's axis values: stable across plans and machines. */
export function runIdFor(sweep: string, values: Readonly<Record<string, unknown>>): string {
  const id = [sweep, ...Object.entries(values).map(([p, v]) => idPart(p, v))].join('.');
  if (id.length <= 81) return id;
  // Config names (and so run ids) are at most 81 characters; keep a readable prefix.
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 10);
  return `${id.slice(0, 70)}.${hash}`;
}

function groupOf(values: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(values)
    .filter(([p]) => p !== SEED_PATH)
    .map(([p, v]) => idPart(p, v));
  return parts.length ? parts.join('.') : 'all';
}

/** Every combination of the axes: the grid of the entries, each entry's paths zipped. */
function combinations(spec: SweepSpec): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  const seen = new Set<string>();
  spec.axes.forEach((entry, i) => {
    const paths = Object.keys(entry);
    for (const p of paths) {
      if (seen.has(p)) throw new ConfigError(`sweep ${spec.name}: axis path '${p}' appears twice (axes entry ${i + 1})`);
      seen.add(p);
    }
    const lengths = paths.map((p) => entry[p]!.length);
    if (new Set(lengths).size > 1) {
      const detail = paths.map((p, j) => `${p}: ${lengths[j]}`).join(', ');
      throw new ConfigError(`sweep ${spec.name}: axes entry ${i + 1} zips lists of different lengths (${detail})`);
    }
    const rows = Array.from({ length: lengths[0]! }, (_, k) => Object.fromEntries(paths.map((p) => [p, entry[p]![k]])));
    combos = combos.flatMap((c) => rows.map((r) => ({ ...c, ...r })));
  });
  return combos;
}

/**
 * Expands a sweep into runs and validates each with the experiment schema, before anything runs:
 * unknown axis paths, rejected values, overrides that match nothing and two runs with the same
 * config are errors that name the run and the field. `instance` (a scheduled firing's id)
 * replaces the name in the run ids, not in the configs.
 */
export function expandSweep(spec: SweepSpec, instance?: string): SweepPlan {
  const id = instance ?? spec.name;
  const axisPaths = spec.axes.flatMap((e) => Object.keys(e));
  for (const [i, o] of spec.overrides.entries()) {
    for (const p of Object.keys(o.when)) {
      if (!axisPaths.includes(p)) {
        throw new ConfigError(`sweep ${spec.name}: overrides[${i}].when names '${p}', which is not an axis (axes: ${axisPaths.join(', ')})`);
      }
    }
  }
  const overrideUsed = spec.overrides.map(() => false);
  const base: Record<string, unknown> = structuredClone(spec.base);
  for (const [p, v] of Object.entries(spec.set)) setPath(base, p, v, `sweep ${spec.name} set`);

  const byId = new Map<string, SweepRun>();
  const byHash = new Map<string, string>();
  const errors: string[] = [];
  for (const values of combinations(spec)) {
    const runId = runIdFor(id, values);
    const raw = structuredClone(base);
    const explicit: Record<string, unknown> = { ...values };
    for (const [p, v] of Object.entries(values)) setPath(raw, p, v, `run ${runId}`);
    spec.overrides.forEach((o, i) => {
      if (!Object.entries(o.when).every(([p, v]) => sameValue(values[p], v))) return;
      overrideUsed[i] = true;
      for (const [p, v] of Object.entries(o.set)) {
        setPath(raw, p, v, `run ${runId} (overrides[${i}])`);
        explicit[p] = v;
      }
    });
    // Not the run id: config.name becomes the `experiment` metric label, which must stay bounded.
    raw['name'] = spec.name;
    let config: ExperimentConfig;
    try {
      config = parseExperiment(raw, `run ${runId}`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err.message);
      continue;
    }
    // A path the schema does not know is either rejected above (strict objects) or dropped
    // (an algorithm without that option); either way the value must survive validation.
    for (const [p, v] of Object.entries(explicit)) {
      if (!sameValue(getPath(config, p), v)) {
        errors.push(
          `run ${runId}: '${p}' is not a field of this config (algorithm '${config.algorithm.name}' ` +
            `or the experiment schema has no such setting, or it changes ${JSON.stringify(v)} to ${JSON.stringify(getPath(config, p))})`,
        );
      }
    }
    if (byId.has(runId)) throw new ConfigError(`sweep ${spec.name}: two runs get the id '${runId}'; make the axis values distinct`);
    const hash = configHash(config);
    const twin = byHash.get(hash);
    if (twin) {
      errors.push(`runs ${twin} and ${runId} expand to the same experiment (the axes that differ have no effect on the config)`);
    }
    byHash.set(hash, runId);
    byId.set(runId, { runId, values, group: groupOf(values), config });
  }
  overrideUsed.forEach((used, i) => {
    if (!used) errors.push(`overrides[${i}] (when ${JSON.stringify(spec.overrides[i]!.when)}) matches no run`);
  });
  if (errors.length) {
    const shown = errors.slice(0, 20);
    const more = errors.length > shown.length ? `\n  ... and ${errors.length - shown.length} more` : '';
    throw new ConfigError(`sweep ${spec.name} is invalid:\n  ${shown.join('\n  ')}${more}`);
  }
  return {
    name: id,
    sweepName: spec.name,
    axisPaths,
    concurrency: spec.concurrency,
    ...(spec.reference !== undefined ? { reference: spec.reference } : {}),
    runs: [...byId.values()],
  };
}
