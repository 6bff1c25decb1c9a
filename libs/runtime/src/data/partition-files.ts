import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClientIndices, ClientLabelCounts, Partition } from '@fedsim/fl/data';
import { PartitionError, labelHistograms } from '@fedsim/fl/data';

/**
 * The split files fedsim reads and writes (docs/reproduce.md describes them for people):
 *  - indices: every client's train and test sample indices over the pooled data set;
 *  - label-counts: every client's train and test count per class;
 *  - PFLlib's config.json: every client's [label, count] pairs covering train + test.
 * Extra keys are allowed (other tools add their own metadata) and ignored.
 */
export const INDICES_FORMAT = 'fedsim.indices/1';
export const LABEL_COUNTS_FORMAT = 'fedsim.label-counts/1';
/** The key PFLlib's dataset generators write each client's label counts under. */
export const PFLLIB_COUNTS_KEY = 'Size of samples for labels in clients';

const count = z.number().int().min(0);

const indicesFileSchema = z
  .object({
    format: z.literal(INDICES_FORMAT).optional(),
    /** the pooled data set the indices refer to; checked when given */
    numSamples: count.optional(),
    allowOverlap: z.boolean().default(false),
    // Plain numbers here; the partitioner names a bad index with its client and position.
    clients: z.array(z.object({ train: z.array(z.number()), test: z.array(z.number()).default([]) }).loose()),
  })
  .loose();

const labelCountsFileSchema = z
  .object({
    format: z.literal(LABEL_COUNTS_FORMAT).optional(),
    numClasses: z.number().int().min(1).optional(),
    clients: z.array(z.object({ train: z.array(count), test: z.array(count) }).loose()),
  })
  .loose();

const pfllibFileSchema = z
  .object({
    num_clients: count.optional(),
    num_classes: count.optional(),
    [PFLLIB_COUNTS_KEY]: z.array(z.array(z.tuple([count, count]))),
  })
  .loose();

export type IndicesFile = z.output<typeof indicesFileSchema>;
export type LabelCountsFile = z.output<typeof labelCountsFileSchema>;
export type PfllibFile = z.output<typeof pfllibFileSchema>;

/** Reads and parses a partition file (JSON); errors say which file and what is wrong with it. */
export function readPartitionFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PartitionError(`partition file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}); check partition.file`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PartitionError(`partition file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseLayout<T extends z.ZodType>(schema: T, value: unknown, path: string, layout: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.slice(0, 5).map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = r.error.issues.length > 5 ? `\n  (and ${r.error.issues.length - 5} more)` : '';
  throw new PartitionError(`partition file ${path} is not a valid ${layout} file:\n${lines.join('\n')}${more}`);
}

export interface ParsedIndices {
  readonly clients: readonly ClientIndices[];
  readonly allowOverlap: boolean;
}

/** An indices file, checked against the data set's size when the file states it. */
export function parseIndicesFile(value: unknown, path: string, numSamples: number): ParsedIndices {
  const file = parseLayout(indicesFileSchema, value, path, `indices (${INDICES_FORMAT})`);
  if (file.numSamples !== undefined && file.numSamples !== numSamples) {
    throw new PartitionError(`partition file ${path} indexes a data set of ${file.numSamples} samples, this one has ${numSamples}; check data`);
  }
  return { clients: file.clients, allowOverlap: file.allowOverlap };
}

/**
 * A label-counts file in either layout, as dense per-class counts. PFLlib's layout gives each
 * client's total (train + test) as [label, count] pairs; the fedsim layout gives train and test.
 */
export function parseLabelCountsFile(value: unknown, path: string, numClasses: number): ClientLabelCounts[] {
  if (value !== null && typeof value === 'object' && PFLLIB_COUNTS_KEY in value) return parsePfllib(value, path, numClasses);
  if (value === null || typeof value !== 'object' || !('clients' in value)) {
    throw new PartitionError(
      `partition file ${path} is not a label-counts file: expected a JSON object with "clients" (${LABEL_COUNTS_FORMAT}) ` +
        `or with "${PFLLIB_COUNTS_KEY}" (PFLlib's config.json)`,
    );
  }
  const file = parseLayout(labelCountsFileSchema, value, path, `label-counts (${LABEL_COUNTS_FORMAT})`);
  if (file.numClasses !== undefined && file.numClasses !== numClasses) {
    throw new PartitionError(`partition file ${path} counts ${file.numClasses} classes, the data set has ${numClasses}; check data`);
  }
  return file.clients.map((c) => ({ train: c.train, test: c.test }));
}

function parsePfllib(value: object, path: string, numClasses: number): ClientLabelCounts[] {
  const file = parseLayout(pfllibFileSchema, value, path, "PFLlib config.json");
  const perClient = file[PFLLIB_COUNTS_KEY];
  if (file.num_clients !== undefined && file.num_clients !== perClient.length) {
    throw new PartitionError(`partition file ${path}: num_clients is ${file.num_clients} but "${PFLLIB_COUNTS_KEY}" lists ${perClient.length} clients`);
  }
  if (file.num_classes !== undefined && file.num_classes !== numClasses) {
    throw new PartitionError(`partition file ${path}: num_classes is ${file.num_classes}, the data set has ${numClasses}; check data`);
  }
  return perClient.map((pairs, j) => {
    const total = new Array<number>(numClasses).fill(0);
    const seen = new Set<number>();
    for (const [label, n] of pairs) {
      if (label >= numClasses) {
        throw new PartitionError(`partition file ${path}: client ${j} counts label ${label}, the data set has labels 0..${numClasses - 1}`);
      }
      if (seen.has(label)) throw new PartitionError(`partition file ${path}: client ${j} lists label ${label} twice`);
      seen.add(label);
      total[label] = n;
    }
    return { total };
  });
}

/**
 * A run's split as an indices file: the exact lists, in the order the run uses them. A split that
 * itself came from a file with overlap says so, so it reads back.
 */
export function indicesFileOf(partition: Partition, numSamples: number): IndicesFile {
  const seen = new Uint8Array(numSamples);
  let allowOverlap = false;
  partition.clients.forEach((c, j) => {
    for (const i of [...c.train, ...c.test]) {
      if (i >= numSamples) throw new PartitionError(`client ${j} holds sample ${i}, but the data set has ${numSamples}; the split was made for another data set`);
      if (seen[i]) allowOverlap = true;
      seen[i] = 1;
    }
  });
  return {
    format: INDICES_FORMAT,
    numSamples,
    allowOverlap,
    clients: partition.clients.map((c) => ({ train: Array.from(c.train), test: Array.from(c.test) })),
  };
}

/** A run's split as per-class train and test counts. */
export function labelCountsFileOf(partition: Partition, labels: Uint8Array, numClasses: number): LabelCountsFile {
  return { format: LABEL_COUNTS_FORMAT, numClasses, clients: labelHistograms(partition, labels, numClasses) };
}

/** Per-client totals (train + test) in PFLlib's layout: [label, count] pairs, zero counts left out. */
export function pfllibCountsFile(totals: readonly (readonly number[])[], numClasses: number): PfllibFile {
  return {
    num_clients: totals.length,
    num_classes: numClasses,
    [PFLLIB_COUNTS_KEY]: totals.map((counts) => counts.flatMap((n, label) => (n > 0 ? [[label, n] as [number, number]] : []))),
  };
}

/**
 * JSON with one client per line: a 70 000-index file stays diffable and greppable without the
 * megabytes that printing every number on its own line would cost. `listKey` names the
 * per-client list; the other fields come first, one per line.
 */
export function formatSplitFile(file: Record<string, unknown>, listKey: string): string {
  const list = file[listKey];
  if (!Array.isArray(list)) throw new Error(`formatSplitFile: '${listKey}' is not a list`);
  const fields = Object.entries(file)
    .filter(([k, v]) => k !== listKey && v !== undefined)
    .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const rows = list.map((c) => `    ${JSON.stringify(c)}`).join(',\n');
  fields.push(`  ${JSON.stringify(listKey)}: [\n${rows}\n  ]`);
  return `{\n${fields.join(',\n')}\n}\n`;
}
