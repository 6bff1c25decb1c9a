import { z } from 'zod';

/** Where the blob store is, as passed to worker threads (credentials stay in the environment). */
export const storeConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dir'), root: z.string().min(1) }),
  z.object({ kind: z.literal('s3'), env: z.record(z.string(), z.string()) }),
]);
export type StoreConfig = z.infer<typeof storeConfigSchema>;

/** The S3_* variables a worker thread needs to rebuild the S3 store (never credentials). */
export function s3EnvOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('S3_') && v !== undefined) out[k] = v;
  return out;
}
