import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ExperimentConfig } from '@fedsim/runtime';
import { ConfigError, canonicalJson } from '@fedsim/runtime';
import { getPath } from '@fedsim/runtime/sweep';
import { formatIssues } from '@fedsim/fl/util';

/**
 * Published numbers a sweep's groups are compared with (configs/reference/*.json): each entry
 * applies to the runs whose config matches every `match` path.
 */
export const referenceTableSchema = z
  .object({
    name: z.string(),
    source: z.string(),
    setting: z.string().optional(),
    metric: z.string(),
    tolerance: z.string().optional(),
    entries: z
      .array(
        z
          .object({
            match: z.record(z.string(), z.unknown()),
            /** percent */
            accuracy: z.number().min(0).max(100),
            note: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type ReferenceTable = z.infer<typeof referenceTableSchema>;

export async function loadReferenceTable(path: string): Promise<ReferenceTable> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError(`unknown reference table '${path}': ${why} (tables ship in configs/reference/)`);
  }
  const parsed = referenceTableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid reference table ${path}:\n${formatIssues(parsed.error, { style: 'list' })}`,
    );
  }
  return parsed.data;
}

/** The reference accuracy (percent) for a config, if the table has one. */
export function referenceFor(table: ReferenceTable, config: ExperimentConfig): { accuracy: number; note?: string } | undefined {
  return table.entries.find((e) => Object.entries(e.match).every(([p, v]) => canonicalJson(getPath(config, p)) === canonicalJson(v)));
}
