/**
 * Yields `fetch(item)` for each item in order, with up to `window` fetches in flight ahead of the
 * consumer: blob reads overlap while the consumer still sees one result at a time, in a fixed order,
 * and at most `window` results are held in memory. Hand-rolled because the libraries at hand bound
 * concurrency (p-limit) but neither keep order nor stop fetching ahead of a slow consumer.
 */
export async function* prefetchInOrder<T, R>(items: readonly T[], window: number, fetch: (item: T) => Promise<R>): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  const fill = () => {
    while (next < items.length && inFlight.length < window) {
      const pending = fetch(items[next++]!);
      // Handled when its turn comes; until then a rejection must not count as unhandled.
      pending.catch(() => undefined);
      inFlight.push(pending);
    }
  };
  fill();
  while (inFlight.length > 0) {
    const result = await inFlight.shift()!;
    fill();
    yield result;
  }
}
