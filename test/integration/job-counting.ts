import type { JobHandlers } from '@fedsim/runtime';

/**
 * An `instrument` for embeddedRuntime that counts child jobs by kind into `counts`, around the
 * handlers `wrap` makes of the real ones (a test's forging or breaking worker), if any.
 */
export function countingJobs(counts: Map<string, number>, wrap?: (h: JobHandlers) => JobHandlers) {
  return (inner: JobHandlers): JobHandlers => {
    const h = wrap ? wrap(inner) : inner;
    return {
      runChild(kind, payload, ctx) {
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        return h.runChild(kind, payload, ctx);
      },
      runParent: (kind, payload, outcomes) => h.runParent(kind, payload, outcomes),
    };
  };
}
