/**
 * What a key under a run's `rounds/` (or `initial-state/`) is, as far as garbage collection is
 * concerned. Kinds it does not know are never deleted: a file some later feature writes is kept
 * until this table learns it.
 */
export type RoundBlob =
  | { readonly kind: 'commit'; readonly round: number }
  | { readonly kind: 'global'; readonly round: number }
  /** consumed by the round's aggregation: updates (FedBuff's per dispatch), partial sums (and their tree reductions), the server's instructions */
  | { readonly kind: 'transient'; readonly round: number; readonly what: 'updates' | 'partials' | 'instructions' }
  /** client state packs: trained (`state/`, FedBuff's `dispatches/<d>/state-*`) or prepared by the server (`instructed-state/`) */
  | { readonly kind: 'state-pack'; readonly round: number }
  /** a version of one block of the client → state-location map; round −1: prepared before round 0 */
  | { readonly kind: 'state-shard'; readonly round: number; readonly shard: number }
  | { readonly kind: 'unknown' };

const ROUND_KEY = /^rounds\/(\d{6,})\/(.+)$/;
const INITIAL_SHARD = /^initial-state\/shards\/(\d+)\.json$/;

/** Classifies `key` relative to `runs/<id>/`. */
export function classifyRunKey(rel: string): RoundBlob {
  const initial = INITIAL_SHARD.exec(rel);
  if (initial) return { kind: 'state-shard', round: -1, shard: Number(initial[1]) };
  const m = ROUND_KEY.exec(rel);
  if (!m) return { kind: 'unknown' };
  const round = Number(m[1]);
  const rest = m[2]!;
  if (rest === 'commit.json') return { kind: 'commit', round };
  if (rest === 'global.bin') return { kind: 'global', round };
  const top = rest.slice(0, rest.indexOf('/'));
  // FedBuff: a dispatch's state pack sits beside its update and lives while the map points into it
  if (top === 'dispatches' && /^dispatches\/\d+\/state-attempt-\d+\.bin$/.test(rest)) return { kind: 'state-pack', round };
  if (top === 'updates' || top === 'dispatches') return { kind: 'transient', round, what: 'updates' };
  // reduce jobs' sums of partials (tree aggregation) are partials too
  if (top === 'partials' || top === 'reduced') return { kind: 'transient', round, what: 'partials' };
  if (top === 'instructions') return { kind: 'transient', round, what: top };
  if (top === 'state' || top === 'instructed-state') return { kind: 'state-pack', round };
  const shard = /^state-shards\/(\d+)\.json$/.exec(rest);
  if (shard) return { kind: 'state-shard', round, shard: Number(shard[1]) };
  return { kind: 'unknown' };
}
