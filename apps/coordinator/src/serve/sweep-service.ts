import type { BlobStore } from '@fedsim/runtime';
import type { Firing, ScheduleInfo, ScheduleSpec } from '@fedsim/runtime/adapters';
import type { FiringRecord } from '@fedsim/runtime/sweep';
import { readRunStatus, readSweepRecord, recentFirings, writeFiring } from '@fedsim/runtime/sweep';
import type { SweepBundle } from '../sweep/sweep-file.js';
import { planFromBundle } from '../sweep/sweep-file.js';
import type { CoordinatorEnv } from '../env.js';
import type { SweepRunOptions } from '../sweep/sweep-run.js';
import { runSweep } from '../sweep/sweep-run.js';

/** `nightly` due 2026-12-01T00:00:00Z → `nightly-20261201T000000Z`: the instance's sweep id. */
export function instanceId(schedule: string, scheduledAt: number): string {
  return `${schedule}-${new Date(scheduledAt).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`;
}

export type FiringOutcome = FiringRecord['outcome'];

export interface SweepServiceOptions {
  readonly store: BlobStore;
  readonly env: CoordinatorEnv;
  readonly run: Omit<SweepRunOptions, 'concurrency'>;
  /** a firing handled later than this after its time is a missed one, not run (no backfill) */
  readonly misfireGraceMs: number;
  readonly log: (message: string) => void;
}

/**
 * What the service does with schedules and their firings. Each firing is one sweep instance
 * whose id carries its scheduled time, so a duplicate firing maps onto the same instance:
 * ignored while it runs or once it finished, resumed if a crash interrupted it.
 */
export class SweepService {
  /** instance id → its run, for the instances this process is running */
  private readonly running = new Map<string, Promise<unknown>>();
  /** schedule → its newest instance in this process (what the policy waits for or skips on) */
  private readonly latest = new Map<string, { instance: string; done: Promise<unknown> }>();

  constructor(private readonly opts: SweepServiceOptions) {}

  validate(spec: ScheduleSpec): void {
    planFromBundle(spec.payload as SweepBundle, instanceId(spec.name, Date.now()));
  }

  async describe(schedules: readonly ScheduleInfo[]): Promise<Record<string, FiringRecord[]>> {
    const out: Record<string, FiringRecord[]> = {};
    for (const s of schedules) out[s.name] = await recentFirings(this.opts.store, s.name);
    return out;
  }

  async fire(firing: Firing): Promise<{ instance: string; outcome: FiringOutcome }> {
    const instance = instanceId(firing.schedule, firing.scheduledAt);
    const record = async (outcome: FiringOutcome, detail: string, key = instance) => {
      this.opts.log(`schedule ${firing.schedule}: ${instance} ${outcome}${detail ? ` (${detail})` : ''}`);
      await writeFiring(this.opts.store, {
        schedule: firing.schedule,
        scheduledAt: new Date(firing.scheduledAt).toISOString(),
        instance: key,
        outcome,
        detail,
        at: new Date().toISOString(),
      });
      return { instance, outcome };
    };
    const duplicate = () => record('duplicate', 'this instance already ran or is running; ignored', `${instance}.duplicate.${Date.now()}`);
    if (this.running.has(instance)) return duplicate();
    // An instance that started before (the service was stopped during it) resumes, however late.
    const started = (await readSweepRecord(this.opts.store, instance)) !== null;
    if (started && (await this.finished(instance))) return duplicate();
    const lateMs = Date.now() - firing.scheduledAt;
    if (!started && lateMs > this.opts.misfireGraceMs) {
      return record('missed', `handled ${Math.round(lateMs / 1000)}s after its time (service down?); missed firings are not backfilled`);
    }
    const previous = this.latest.get(firing.schedule);
    if (previous && this.running.has(previous.instance)) {
      if (firing.policy === 'skip') return record('skipped', `previous instance ${previous.instance} still running`);
      await record('queued', `starts when ${previous.instance} finishes`);
      await previous.done.catch(() => undefined);
    }
    const done = this.start(firing, instance, record);
    this.latest.set(firing.schedule, { instance, done });
    return done;
  }

  private async start(
    firing: Firing,
    instance: string,
    record: (outcome: FiringOutcome, detail: string) => Promise<{ instance: string; outcome: FiringOutcome }>,
  ): Promise<{ instance: string; outcome: FiringOutcome }> {
    const work = (async () => {
      const plan = planFromBundle(firing.payload as SweepBundle, instance);
      await record('started', `${plan.runs.length} runs`);
      const outcome = await runSweep(plan, this.opts.run, this.opts.env);
      const failed = outcome.runs.filter((r) => r.outcome === 'failed').length;
      const cancelled = outcome.runs.filter((r) => r.outcome === 'cancelled').length;
      const detail = `${outcome.runs.length - failed - cancelled} runs done, ${failed} failed, ${cancelled} cancelled`;
      return record(failed ? 'failed' : 'finished', detail);
    })();
    this.running.set(instance, work);
    try {
      return await work;
    } catch (err) {
      return record('failed', err instanceof Error ? err.message : String(err));
    } finally {
      this.running.delete(instance);
    }
  }

  /** An instance whose sweep record exists and whose runs are all done. */
  private async finished(instance: string): Promise<boolean> {
    const sweep = await readSweepRecord(this.opts.store, instance);
    if (!sweep) return false;
    for (const r of sweep.runs) if ((await readRunStatus(this.opts.store, r.runId))?.state !== 'done') return false;
    return true;
  }
}
