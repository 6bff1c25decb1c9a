import { Rng } from '../util/rng.js';
import type { Availability } from './availability.js';
import type { FedBuffMode, StalenessWeight } from './config.js';

/** An update as FedBuff sees it: who, trained from which model version, how stale on arrival. */
export interface BufferedUpdate {
  readonly clientId: number;
  /** the run's dispatch number (0, 1, …): a client may be dispatched twice from one version */
  readonly dispatch: number;
  /** the global model version the client downloaded */
  readonly baseVersion: number;
  /** versions committed between its download and its arrival */
  readonly staleness: number;
  readonly arrivedAt: number;
}

export interface FedBuffDrop {
  readonly clientId: number;
  readonly dispatch: number;
  readonly baseVersion: number;
  readonly reason: 'stale' | 'offline';
  readonly at: number;
}

/** One server step: the B updates that produce model version `version`. */
export interface FedBuffStep {
  readonly version: number;
  readonly closesAt: number;
  /** in arrival order */
  readonly updates: readonly BufferedUpdate[];
  /** clients lost since the previous step */
  readonly dropped: readonly FedBuffDrop[];
}

export interface FedBuffPlanInput {
  readonly seed: number;
  readonly numClients: number;
  readonly mode: FedBuffMode;
  readonly availability: Availability;
  /** server steps to plan (model versions 1..steps) */
  readonly steps: number;
  /** virtual seconds client c needs when it starts from model version v */
  readonly secondsOf: (clientId: number, baseVersion: number) => number;
}

interface InFlight {
  readonly clientId: number;
  readonly dispatch: number;
  readonly baseVersion: number;
  readonly at: number;
  readonly offline: boolean;
}

/**
 * FedBuff in virtual time, decided before anyone trains: C clients are in flight; each arrival
 * (earliest first, ties to the lower client id) enters the buffer unless it is more than
 * maxStaleness versions old; every B buffered arrivals make a new version; each finished or lost
 * client is replaced at once by a client drawn from those online and idle, from the stream
 * (seed, 'fedbuff', dispatch number). With `oncePerFlush` a client whose update waits in the
 * buffer is not idle until the flush, so no client arrives twice in one step. Same seed, same plan.
 */
export function planFedBuff(input: FedBuffPlanInput): FedBuffStep[] {
  const { seed, numClients, mode, availability, steps, secondsOf } = input;
  const flying: InFlight[] = [];
  const busy = new Set<number>();
  let dispatches = 0;
  let version = 0;
  const fill = (t: number) => {
    while (flying.length < mode.concurrency) {
      const idle: number[] = [];
      for (let c = 0; c < numClients; c++) if (!busy.has(c) && availability.isOnline(c, version, t)) idle.push(c);
      if (idle.length === 0) return;
      const dispatch = dispatches++;
      const clientId = idle[Rng.derive(seed, 'fedbuff', dispatch).int(idle.length)]!;
      const seconds = secondsOf(clientId, version);
      if (!(seconds >= 0) || !Number.isFinite(seconds)) {
        throw new Error(`client ${clientId} needs ${seconds} virtual seconds: profiles and byte sizes must be positive and finite`);
      }
      const until = availability.onlineUntil(clientId, version, t);
      const finish = t + seconds;
      flying.push({ clientId, dispatch, baseVersion: version, at: Math.min(finish, until), offline: until < finish });
      busy.add(clientId);
    }
  };

  const plan: FedBuffStep[] = [];
  let buffer: BufferedUpdate[] = [];
  let dropped: FedBuffDrop[] = [];
  fill(0);
  while (plan.length < steps) {
    if (flying.length === 0) {
      throw new Error(
        `FedBuff: no client online to train model version ${version}; availability is too sparse for concurrency ${mode.concurrency}` +
          (mode.oncePerFlush ? ` (with oncePerFlush a flush needs ${mode.bufferSize} distinct online clients)` : ''),
      );
    }
    let next = 0;
    for (let i = 1; i < flying.length; i++) {
      const a = flying[i]!;
      const b = flying[next]!;
      if (a.at < b.at || (a.at === b.at && a.clientId < b.clientId)) next = i;
    }
    const ev = flying.splice(next, 1)[0]!;
    const staleness = version - ev.baseVersion;
    const buffered = !ev.offline && staleness <= mode.maxStaleness;
    if (!(buffered && mode.oncePerFlush)) busy.delete(ev.clientId);
    if (ev.offline) dropped.push({ clientId: ev.clientId, dispatch: ev.dispatch, baseVersion: ev.baseVersion, reason: 'offline', at: ev.at });
    else if (staleness > mode.maxStaleness) dropped.push({ clientId: ev.clientId, dispatch: ev.dispatch, baseVersion: ev.baseVersion, reason: 'stale', at: ev.at });
    else buffer.push({ clientId: ev.clientId, dispatch: ev.dispatch, baseVersion: ev.baseVersion, staleness, arrivedAt: ev.at });
    if (buffer.length === mode.bufferSize) {
      if (mode.oncePerFlush) for (const u of buffer) busy.delete(u.clientId);
      version++;
      plan.push({ version, closesAt: ev.at, updates: buffer, dropped });
      buffer = [];
      dropped = [];
    }
    fill(ev.at);
  }
  return plan;
}

/** s(τ): the staleness discount. */
export function stalenessDiscount(w: StalenessWeight, staleness: number): number {
  return w.kind === 'constant' ? 1 : 1 / Math.pow(1 + staleness, w.exponent);
}

/**
 * Per-update weights of one FedBuff step: w_i = n_i · s(τ_i) / Σ_j n_j. Normalised by sample
 * counts only, per update: grouping the buffer by model version and averaging the versions (the
 * pitfall of NVFlare#4899) would let one small stale client outweigh many fresh ones, and
 * normalising by Σ n_j·s(τ_j) would cancel the discount when all updates are equally stale.
 */
export function fedBuffWeights(updates: readonly { numSamples: number; staleness: number }[], w: StalenessWeight): number[] {
  const total = updates.reduce((s, u) => s + u.numSamples, 0);
  if (!(total > 0)) throw new Error('FedBuff step without samples: every buffered update has numSamples 0');
  return updates.map((u) => (u.numSamples * stalenessDiscount(w, u.staleness)) / total);
}

/**
 * θ_{v+1} = θ_v + Σ_i w_i (θ_i − θ_{base_i}): each client's delta against the model it started
 * from. Summed in float64 in the order given, so equal inputs give equal bytes.
 */
export function applyFedBuffStep(
  current: Float32Array,
  updates: readonly { trained: Float32Array; base: Float32Array; weight: number }[],
): Float32Array {
  const acc = new Float64Array(current.length);
  for (let i = 0; i < current.length; i++) acc[i] = current[i]!;
  for (const u of updates) {
    if (u.trained.length !== current.length || u.base.length !== current.length) {
      throw new Error(`FedBuff update has ${u.trained.length}/${u.base.length} values, the model ${current.length}`);
    }
    for (let i = 0; i < acc.length; i++) acc[i]! += u.weight * (u.trained[i]! - u.base[i]!);
  }
  return Float32Array.from(acc);
}
