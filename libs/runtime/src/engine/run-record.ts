import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ExperimentConfig } from '../config/experiment.js';
import { parseExperiment } from '../config/experiment.js';

/** Written once when a run starts; every job reads its settings from here, not from its payload. */
export const runRecordSchema = z.object({
  runId: z.string(),
  configHash: z.string(),
  config: z.unknown(),
  numClients: z.number().int().positive(),
  specFingerprint: z.string(),
  createdAt: z.string(),
});
export type RunRecord = Omit<z.infer<typeof runRecordSchema>, 'config'> & { config: ExperimentConfig };

/** Stable JSON (sorted keys), so equal configs hash equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function configHash(config: ExperimentConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

export function parseRunRecord(bytes: Uint8Array, key: string): RunRecord {
  const raw = runRecordSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  return { ...raw, config: parseExperiment(raw.config, `run record ${key}`) };
}
