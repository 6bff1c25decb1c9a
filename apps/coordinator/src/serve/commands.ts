import type { Command } from 'commander';
import { Option } from 'commander';
import type { ScheduleInfo } from '@fedsim/runtime/adapters';
import { ScheduleClient, ScheduleHost, schedulePolicySchema, scheduleSpecSchema } from '@fedsim/runtime/adapters';
import type { FiringRecord } from '@fedsim/runtime/sweep';
import type { BackendChoice } from '@fedsim/runtime/wiring';
import { distributedEnvSchema } from '@fedsim/runtime/wiring';
import { backendOption, positiveInt } from '../cli-options.js';
import type { CoordinatorEnv } from '../env.js';
import { ConfigError } from '@fedsim/runtime';
import { bundleSweepFile, planFromBundle } from '../sweep/sweep-file.js';
import { openStore } from '../sweep/commands.js';
import { SweepService, instanceId } from './sweep-service.js';
import { formatIssues } from '@fedsim/fl/util';

/** Schedules live in Redis, so `serve` and `schedule` need REDIS_URL even when sweeps run embedded. */
function queueSettings(env: CoordinatorEnv) {
  const parsed = distributedEnvSchema.safeParse(env.raw);
  if (!parsed.success) throw new ConfigError(`schedules: ${formatIssues(parsed.error)}`);
  return { connection: parsed.data.REDIS_URL, prefix: parsed.data.FEDSIM_QUEUE_PREFIX };
}

async function withClient<T>(env: CoordinatorEnv, work: (client: ScheduleClient) => Promise<T>): Promise<T> {
  const client = new ScheduleClient(queueSettings(env));
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

export interface ServeOptions {
  readonly distributed: boolean;
  readonly out: string;
  readonly workers?: number;
  readonly backend: BackendChoice;
  readonly misfireGrace: number;
  readonly fireConcurrency: number;
  readonly lockSeconds: number;
}

/** Starts the schedule service; resolves with a handle whose close() stops it. */
export async function startService(o: ServeOptions, env: CoordinatorEnv, log: (m: string) => void = (m) => console.error(m)) {
  const store = await openStore(o, env);
  const service = new SweepService({
    store,
    env,
    run: { distributed: o.distributed, out: o.out, ...(o.workers ? { workers: o.workers } : {}), backend: o.backend, quiet: true },
    misfireGraceMs: o.misfireGrace * 1000,
    log,
  });
  const host = new ScheduleHost({
    ...queueSettings(env),
    validate: (spec) => service.validate(spec),
    fire: (firing) => service.fire(firing),
    describe: (schedules) => service.describe(schedules),
    fireConcurrency: o.fireConcurrency,
    lockMs: o.lockSeconds * 1000,
  });
  log(`fedsim serve: schedules on Redis, sweeps ${o.distributed ? 'on the worker fleet' : `embedded under ${o.out}`}; store ${store.describe()}`);
  return {
    service,
    host,
    async close() {
      await host.close();
      store.close?.();
    },
  };
}

const when = (ms: number | null) => (ms === null ? '–' : new Date(ms).toISOString());

export function formatSchedules(answer: { schedules: ScheduleInfo[]; details: Record<string, FiringRecord[]> | null }): string {
  if (answer.schedules.length === 0) return 'no schedules';
  return answer.schedules
    .map((s) => {
      const firings = (answer.details?.[s.name] ?? []).map((f) => `    ${f.scheduledAt} ${f.instance} ${f.outcome}${f.detail ? `: ${f.detail}` : ''}`);
      return [`${s.name}: '${s.cron}' in ${s.tz}, policy ${s.policy}, next ${when(s.next)}`, ...firings].join('\n');
    })
    .join('\n');
}

/** serve, schedule add/list/remove. */
export function registerServeCommands(program: Command, env: CoordinatorEnv): void {
  program
    .command('serve')
    .description('long-running coordinator service: owns sweep schedules (Redis: REDIS_URL) and runs their firings')
    .option('--distributed', 'run the sweeps on Redis + S3 workers (else embedded under --out)', false)
    .option('--out <dir>', 'embedded: where runs/, sweeps/ and schedules/ go', '.')
    .option('--workers <n>', 'embedded: compute threads per sweep', positiveInt)
    .addOption(backendOption(env))
    .option('--misfire-grace <seconds>', 'a firing handled later than this is recorded as missed, not run (no backfill)', positiveInt, 600)
    .option('--fire-concurrency <n>', 'sweep instances running at once across schedules', positiveInt, 4)
    .option('--lock-seconds <n>', 'after a crash, a restarted service resumes the running instances this long after their last heartbeat', positiveInt, 30)
    .action(async (o: ServeOptions) => {
      const handle = await startService(o, env);
      await new Promise<void>((done) => {
        process.once('SIGTERM', () => done());
        process.once('SIGINT', () => done());
      });
      console.error('fedsim serve: stopping; running sweep instances resume when the service starts again');
      await handle.close();
    });

  const schedule = program.command('schedule').description('cron schedules of sweeps, kept by `fedsim serve`');
  schedule
    .command('add')
    .description('register (or replace) a schedule; each firing runs one instance of the sweep')
    .argument('<name>', 'schedule name')
    .argument('<file>', 'sweep file (YAML); its base config and reference table are sent along')
    .requiredOption('--cron <pattern>', 'cron pattern, e.g. "0 1 * * *"')
    .option('--tz <zone>', 'IANA time zone the pattern is read in', 'UTC')
    .addOption(new Option('--policy <policy>', 'if the previous instance still runs: skip this firing (recorded) or queue it').choices(schedulePolicySchema.options).default('skip'))
    .action(async (name: string, file: string, o: { cron: string; tz: string; policy: 'skip' | 'queue' }) => {
      const bundle = await bundleSweepFile(file);
      const spec = scheduleSpecSchema.parse({ name, cron: o.cron, tz: o.tz, policy: o.policy, payload: bundle });
      const plan = planFromBundle(bundle, instanceId(name, Date.now()));
      const info = (await withClient(env, (c) => c.request({ op: 'add', schedule: spec }))) as ScheduleInfo | null;
      console.log(`schedule ${name}: sweep ${plan.sweepName} (${plan.runs.length} runs) '${o.cron}' in ${o.tz}, policy ${o.policy}; next firing ${when(info?.next ?? null)}`);
    });
  schedule
    .command('list')
    .description('schedules with their next firing and latest firings')
    .action(async () => {
      const answer = (await withClient(env, (c) => c.request({ op: 'list' }))) as Parameters<typeof formatSchedules>[0];
      console.log(formatSchedules(answer));
    });
  schedule
    .command('remove')
    .description('remove a schedule (running instances continue)')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => {
      const answer = (await withClient(env, (c) => c.request({ op: 'remove', name }))) as { removed: boolean };
      console.log(answer.removed ? `schedule ${name} removed` : `no schedule ${name}`);
    });
}
