import { z } from 'zod';

/**
 * Where the blob store is, as passed to worker threads. The S3 settings include the credentials
 * the app read from its environment: threads read no environment of their own, and workerData
 * stays in the process (structured-cloned, never serialised to disk or logs).
 */
export const storeConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dir'), root: z.string().min(1) }),
  z.object({ kind: z.literal('s3'), env: z.record(z.string(), z.string()) }),
]);
export type StoreConfig = z.infer<typeof storeConfigSchema>;

/** The S3_* and AWS_* variables a worker thread needs to rebuild the S3 store. */
export function s3EnvOf(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if ((k.startsWith('S3_') || k.startsWith('AWS_')) && v !== undefined) out[k] = v;
  return out;
}
