/**
 * How a round's sampled clients are split into cohorts: one train job per cohort, whose worker
 * trains the cohort's clients one after another with the model and data resident.
 *
 * The split depends only on the sampled ids, their sample counts and pools, never on which worker
 * is free, so a round's cohorts (and every result computed per cohort) are the same embedded and
 * distributed, with any number of workers.
 */
export interface Cohort {
  /** the cohort's position in the round: cohorts are aggregated in this order */
  readonly index: number;
  /** ascending client ids */
  readonly clients: readonly number[];
  /** the pool every client of the cohort trains in (clients of different pools never share a cohort) */
  readonly pool?: string;
}

export interface CohortPlanInput {
  readonly clients: readonly number[];
  /** a client's training samples: the cost a cohort is balanced by */
  readonly samplesOf: (clientId: number) => number;
  readonly poolOf?: (clientId: number) => string | undefined;
  /** clients per cohort at most; 1 is one job per client */
  readonly cohortSize: number;
}

/** Cohorts a round aims for when the size is automatic: enough jobs to keep a few dozen workers busy. */
const AUTO_COHORTS_PER_ROUND = 64;
/** Largest automatic cohort: a failed or stalled cohort job costs at most this many clients' work. */
const AUTO_MAX_COHORT_SIZE = 256;
/** Smallest automatic cohort worth a job's fixed cost (queueing, θ_g fetch, reply, partial) ... */
const AUTO_MIN_COHORT_SIZE = 16;
/** ... unless that leaves fewer cohorts than this: small rounds still spread over several workers. */
const AUTO_MIN_COHORTS = 8;

/**
 * The automatic cohort size for K clients per round: about 64 cohorts of at most 256 clients, but
 * at least 16 clients per cohort as long as that leaves 8 cohorts (K = 100: 8 cohorts of 12–13,
 * K = 10: 5 of 2; K ≤ 8: one job per client). Depends on K alone, so a config always runs with the
 * same cohorts.
 */
export function autoCohortSize(perRound: number): number {
  const floor = Math.min(AUTO_MIN_COHORT_SIZE, Math.ceil(perRound / AUTO_MIN_COHORTS));
  return Math.min(AUTO_MAX_COHORT_SIZE, Math.max(1, floor, Math.ceil(perRound / AUTO_COHORTS_PER_ROUND)));
}

/**
 * Splits each pool's clients into ⌈K/size⌉ cohorts of at most `cohortSize` clients, balanced by
 * sample count (clients by descending samples, ties by ascending id, dealt in a snake). Cohorts are ordered by pool
 * (clients without a pool first, then pools by name) and, within a pool, by their smallest id.
 */
export function planCohorts(input: CohortPlanInput): Cohort[] {
  const size = input.cohortSize;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cohort size must be a positive integer, got ${size}`);
  const byPool = new Map<string, number[]>();
  for (const clientId of new Set(input.clients)) {
    const pool = input.poolOf?.(clientId) ?? '';
    const members = byPool.get(pool);
    if (members) members.push(clientId);
    else byPool.set(pool, [clientId]);
  }
  const cohorts: { clients: number[]; pool: string }[] = [];
  for (const pool of [...byPool.keys()].sort()) {
    const members = byPool.get(pool)!;
    const count = Math.ceil(members.length / size);
    const bins = Array.from({ length: count }, () => [] as number[]);
    const order = members
      .map((clientId) => ({ clientId, samples: input.samplesOf(clientId) }))
      .sort((a, b) => b.samples - a.samples || a.clientId - b.clientId);
    // Dealt like cards in a snake (0..C-1, C-1..0, ...): every cohort gets one of each C
    // consecutive sizes, so sample counts come out balanced and cohort sizes differ by at most one.
    order.forEach((c, i) => {
      const pass = Math.floor(i / count);
      const seat = i % count;
      bins[pass % 2 === 0 ? seat : count - 1 - seat]!.push(c.clientId);
    });
    const sorted = bins.map((b) => b.sort((x, y) => x - y)).sort((a, b) => a[0]! - b[0]!);
    for (const clients of sorted) cohorts.push({ clients, pool });
  }
  return cohorts.map((c, index) => ({ index, clients: c.clients, ...(c.pool ? { pool: c.pool } : {}) }));
}
