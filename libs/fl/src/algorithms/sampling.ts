import { Rng } from '../util/rng.js';

/** clients_per_round = max(1, ⌊N · join_ratio⌋) (docs/specs/protocol.md). */
export function clientsPerRound(numClients: number, joinRatio: number): number {
  return Math.max(1, Math.floor(numClients * joinRatio));
}

/**
 * The clients of a round: uniform without replacement from a stream keyed by (seed, round), so
 * any process (coordinator, an aggregation job preparing the next round, a resumed run) draws
 * the same set. Sorted ascending: aggregation order is client order, never arrival order.
 */
export function sampleClients(seed: number, round: number, numClients: number, perRound: number): number[] {
  if (perRound > numClients) {
    throw new Error(`cannot sample ${perRound} clients per round from ${numClients} clients`);
  }
  return Rng.derive(seed, 'sample', round).sample(numClients, perRound).sort((a, b) => a - b);
}

/** A 31-bit seed for one purpose, e.g. derivedSeed(seed, 'train', round, clientId). */
export function derivedSeed(seed: number, ...path: (string | number)[]): number {
  return Rng.derive(seed, ...path).int(0x7fffffff);
}
