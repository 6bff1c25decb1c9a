/** The compute-thread module, as .ts when running from sources (tsx) and .js when built. */
export function workerThreadEntry(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./worker-thread.${ext}`, import.meta.url);
}
