/**
 * The fedsim Grafana dashboards, built as data so tests can check every query against the
 * metric catalog. `node --import tsx infra/grafana/dashboards.ts` rewrites the JSON files that
 * Grafana provisions (infra/grafana/dashboards/), the copies the Helm chart ships
 * (helm/fedsim/dashboards/) and the per-row guide in docs/metrics.md; tests fail when they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Unit = 'short' | 'percentunit' | 's' | 'bytes' | 'Bps' | 'ops' | 'reqps' | 'none';

interface Query {
  readonly expr: string;
  readonly legend?: string;
}

interface PanelSpec {
  readonly title: string;
  readonly kind: 'timeseries' | 'stat';
  readonly queries: readonly Query[];
  readonly unit?: Unit;
  readonly description?: string;
  /** grid width out of 24; default 8 (three panels per row) */
  readonly width?: number;
  readonly height?: number;
  readonly min?: number;
  readonly max?: number;
  readonly stack?: boolean;
}

interface RowSpec {
  readonly title: string;
  /** what the row shows for a round that goes well, and for one that does not (docs/metrics.md) */
  readonly healthy: string;
  readonly unhealthy: string;
  readonly panels: readonly PanelSpec[];
}

interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly RowSpec[];
  readonly variables: readonly ('experiment' | 'pool')[];
}

export type DashboardJson = Record<string, unknown>;

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const EXP = 'experiment=~"$experiment"';
const POOL = 'pool=~"$pool"';
const RATE = '$__rate_interval';

/**
 * p50/p90/p99 from a recorded per-bucket rate (infra/prometheus/recording-rules.yml), so the
 * three quantiles don't each re-read the raw buckets of every instance.
 */
const quantiles = (recorded: string, by: string, filter: string): Query[] =>
  [0.5, 0.9, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (${recorded}{${filter}}))`,
    legend: `p${Math.round(q * 100)} {{${by.split(', ').join('}} {{')}}}`,
  }));

/** Recorded series (infra/prometheus/recording-rules.yml) the dashboards read. */
export const RECORDED = {
  roundDurationBuckets: 'experiment:fedsim_round_duration_seconds_bucket:rate5m',
  jobDurationBuckets: 'experiment_job:fedsim_job_duration_seconds_bucket:rate5m',
  clientUpdates: 'experiment:fedsim_client_updates:rate5m',
  failureRatio: 'experiment:fedsim_client_failure_ratio:rate5m',
} as const;

const overview: DashboardSpec = {
  uid: 'fedsim-overview',
  title: 'fedsim / experiments',
  description: 'Experiment progress, accuracy and loss, round and job durations, throughput and failures.',
  variables: ['experiment'],
  rows: [
    {
      title: 'Progress',
      healthy:
        'Current round steps up once per round and reaches rounds planned minus one; clients per round matches the config; pooled accuracy rises (or holds) at each evaluation and the eval and train loss curves fall.',
      unhealthy:
        'The round line stays flat while a round is in progress (a stuck round: see the FedsimRoundOverdue alert and the queues dashboard); accuracy drops or loss turns to a gap after a round (diverging training: look for rejected non-finite updates); clients per round below the config means the sampler had fewer clients than asked.',
      panels: [
        { title: 'Current round', kind: 'stat', width: 6, height: 5, queries: [{ expr: `max by (experiment) (fedsim_current_round{${EXP}})`, legend: '{{experiment}}' }] },
        { title: 'Rounds planned', kind: 'stat', width: 6, height: 5, queries: [{ expr: `max by (experiment) (fedsim_rounds_planned{${EXP}})`, legend: '{{experiment}}' }] },
        { title: 'Clients per round', kind: 'stat', width: 6, height: 5, queries: [{ expr: `max by (experiment) (fedsim_clients_per_round{${EXP}})`, legend: '{{experiment}}' }] },
        {
          title: 'Latest pooled accuracy', kind: 'stat', width: 6, height: 5, unit: 'percentunit',
          queries: [{ expr: `max by (experiment) (fedsim_eval_accuracy_ratio{${EXP}, view="pooled"})`, legend: '{{experiment}}' }],
        },
        {
          title: 'Round', kind: 'timeseries', width: 8,
          description: 'Round index over time; a flat line while a round is in progress is a stuck round.',
          queries: [{ expr: `max by (experiment, algorithm) (fedsim_current_round{${EXP}})`, legend: '{{experiment}} {{algorithm}}' }],
        },
        {
          title: 'Evaluation accuracy', kind: 'timeseries', width: 8, unit: 'percentunit', min: 0, max: 1,
          queries: [{ expr: `max by (experiment, algorithm, view) (fedsim_eval_accuracy_ratio{${EXP}})`, legend: '{{experiment}} {{algorithm}} {{view}}' }],
        },
        {
          title: 'Loss', kind: 'timeseries', width: 8,
          queries: [
            { expr: `max by (experiment, algorithm, view) (fedsim_eval_loss{${EXP}})`, legend: 'eval {{view}} {{experiment}} {{algorithm}}' },
            { expr: `max by (experiment, algorithm) (fedsim_train_loss{${EXP}})`, legend: 'train {{experiment}} {{algorithm}}' },
          ],
        },
      ],
    },
    {
      title: 'Durations',
      healthy:
        'Round duration percentiles sit close together and stay level from round to round; rounds committed per minute is steady; train jobs dominate job durations and the train p90 is similar across pools of the same backend.',
      unhealthy:
        'p99 far above p50 (one slow client or worker holds every round up to its deadline); round durations growing round after round (a shrinking worker fleet or a growing backlog); one backend or pool with a much higher train p90 (a slow node or a fallback to a slower backend).',
      panels: [
        { title: 'Round duration percentiles', kind: 'timeseries', width: 12, unit: 's', queries: quantiles(RECORDED.roundDurationBuckets, 'experiment', EXP) },
        {
          title: 'Rounds committed per minute', kind: 'timeseries', width: 12, unit: 'short',
          queries: [{ expr: `sum by (experiment, algorithm) (rate(fedsim_rounds_committed_total{${EXP}}[${RATE}])) * 60`, legend: '{{experiment}} {{algorithm}}' }],
        },
        { title: 'Job duration p50/p90/p99 by kind', kind: 'timeseries', width: 12, unit: 's', queries: quantiles(RECORDED.jobDurationBuckets, 'job_kind', EXP) },
        {
          title: 'Train job p90 by backend and pool', kind: 'timeseries', width: 12, unit: 's',
          queries: [{
            expr: `histogram_quantile(0.9, sum by (le, backend, pool) (${RECORDED.jobDurationBuckets}{${EXP}, job_kind="train"}))`,
            legend: '{{backend}} {{pool}}',
          }],
        },
      ],
    },
    {
      title: 'Throughput',
      healthy:
        'Client updates per second is steady while rounds run; jobs finished per second shows train (and eval) jobs completing, with the failed band at or near zero.',
      unhealthy:
        'Updates per second drops to zero while a round is in progress (workers idle or gone); a visible failed band in jobs finished per second (jobs throwing: check the workers\' logs).',
      panels: [
        {
          title: 'Client updates per second', kind: 'timeseries', width: 12, unit: 'ops',
          queries: [{ expr: `sum by (experiment, algorithm) (${RECORDED.clientUpdates}{${EXP}})`, legend: '{{experiment}} {{algorithm}}' }],
        },
        {
          title: 'Jobs finished per second', kind: 'timeseries', width: 12, unit: 'ops', stack: true,
          queries: [{ expr: `sum by (job_kind, outcome) (rate(fedsim_jobs_total{${EXP}}[${RATE}]))`, legend: '{{job_kind}} {{outcome}}' }],
        },
      ],
    },
    {
      title: 'Failures, retries and rejections',
      healthy:
        'All four panels at zero, or a short blip: an occasional retry that then succeeds, or a single failed client that the round absorbs; the failure ratio stays well under 20 %.',
      unhealthy:
        'A failure ratio near or above 20 % (FedsimClientFailureRateHigh); failures with reason deadline (clients slower than the round deadline); a steady retry rate (stalled or crashing workers); any rejected updates (non-finite or malformed updates from a client: FedsimUpdatesRejected).',
      panels: [
        {
          title: 'Client failures per second', kind: 'timeseries', unit: 'ops',
          queries: [{ expr: `sum by (job_kind, reason) (rate(fedsim_client_failures_total{${EXP}}[${RATE}]))`, legend: '{{job_kind}} {{reason}}' }],
        },
        {
          title: 'Job retries per second', kind: 'timeseries', unit: 'ops',
          queries: [{ expr: `sum by (job_kind, pool) (rate(fedsim_job_retries_total{${EXP}}[${RATE}]))`, legend: '{{job_kind}} {{pool}}' }],
        },
        {
          title: 'Updates rejected per second', kind: 'timeseries', unit: 'ops',
          queries: [{ expr: `sum by (reason) (rate(fedsim_updates_rejected_total{${EXP}}[${RATE}]))`, legend: '{{reason}}' }],
        },
        {
          title: 'Failure ratio', kind: 'timeseries', width: 24, unit: 'percentunit', min: 0,
          description: 'Failed client jobs over all finished client jobs (the FedsimClientFailureRateHigh alert fires above 20%).',
          queries: [{ expr: `max by (experiment) (${RECORDED.failureRatio}{${EXP}})`, legend: '{{experiment}}' }],
        },
      ],
    },
    {
      title: 'Devices in virtual time',
      healthy:
        'Only for runs with a `system` block. The virtual clock climbs by a similar step every round; dropped clients are mostly overcommit (the over-committed extra clients, by design), with deadline and offline drops a minority. FedBuff: staleness mostly 0-2 versions, few stale drops.',
      unhealthy:
        'Virtual clock steps as long as the deadline round after round (rounds close on the deadline with fewer than K clients); deadline or offline drops as frequent as trained clients (raise system.mode.deadlineSeconds, system.mode.overcommit or the availability). FedBuff: p90 staleness at system.mode.maxStaleness and stale drops climbing (concurrency too high for the buffer size).',
      panels: [
        {
          title: 'Virtual clock', kind: 'timeseries', width: 12, unit: 's',
          queries: [{ expr: `max by (experiment, algorithm) (fedsim_virtual_clock_seconds{${EXP}})`, legend: '{{experiment}} {{algorithm}}' }],
        },
        {
          title: 'Clients dropped per second by reason', kind: 'timeseries', width: 12, unit: 'ops', stack: true,
          queries: [{ expr: `sum by (reason) (rate(fedsim_clients_dropped_total{${EXP}}[${RATE}]))`, legend: '{{reason}}' }],
        },
        {
          title: 'Update staleness (FedBuff)', kind: 'timeseries', width: 24, unit: 'short', min: 0,
          description: 'Model versions between a client\'s download and its update\'s arrival, over the aggregated updates (FedBuff runs only).',
          queries: [
            ...[0.5, 0.9].map((q) => ({
              expr: `histogram_quantile(${q}, sum by (le, experiment) (rate(fedsim_update_staleness_bucket{${EXP}}[${RATE}])))`,
              legend: `p${q * 100} {{experiment}}`,
            })),
            {
              expr: `sum by (experiment) (rate(fedsim_update_staleness_sum{${EXP}}[${RATE}])) / sum by (experiment) (rate(fedsim_update_staleness_count{${EXP}}[${RATE}]))`,
              legend: 'mean {{experiment}}',
            },
          ],
        },
      ],
    },
  ],
};

const infrastructure: DashboardSpec = {
  uid: 'fedsim-infrastructure',
  title: 'fedsim / queues and workers',
  description: 'Queue depth, worker utilisation per pool, bytes moved to and from the blob store, process health.',
  variables: ['pool'],
  rows: [
    {
      title: 'Queues',
      healthy:
        'Waiting jobs jump when a round is queued and drain to zero before the next one; the aggregate queue holds at most one job per running experiment; no failed jobs pile up.',
      unhealthy:
        'Waiting jobs that never drain or keep growing (FedsimQueueBacklogGrowing: too few workers for the pool); jobs waiting with no worker slots (FedsimNoWorkers); a failed count that keeps rising.',
      panels: [
        {
          title: 'Waiting jobs per queue', kind: 'timeseries', width: 12, stack: true,
          queries: [{ expr: 'max by (queue) (fedsim_queue_jobs{state="waiting"})', legend: '{{queue}}' }],
        },
        {
          title: 'Jobs per queue and state', kind: 'timeseries', width: 12,
          queries: [{ expr: 'max by (queue, state) (fedsim_queue_jobs)', legend: '{{queue}} {{state}}' }],
        },
      ],
    },
    {
      title: 'Workers',
      healthy:
        'Utilisation near 100 % while a round\'s train jobs run and near 0 between rounds; offered slots and worker processes constant (or following the autoscaler).',
      unhealthy:
        'Low utilisation while jobs wait (workers serve other pools, or the queue prefix differs); offered slots dropping during a run (workers crashing or being evicted); a pool missing entirely.',
      panels: [
        {
          title: 'Utilisation per pool', kind: 'timeseries', unit: 'percentunit', min: 0, max: 1,
          description: 'Busy job slots over offered job slots.',
          queries: [{ expr: `sum by (pool) (fedsim_worker_busy_slots{${POOL}}) / sum by (pool) (fedsim_worker_concurrency{${POOL}})`, legend: '{{pool}}' }],
        },
        {
          title: 'Job slots per pool', kind: 'timeseries',
          queries: [
            { expr: `sum by (pool) (fedsim_worker_concurrency{${POOL}})`, legend: 'offered {{pool}}' },
            { expr: `sum by (pool) (fedsim_worker_busy_slots{${POOL}})`, legend: 'busy {{pool}}' },
          ],
        },
        {
          title: 'Worker processes per pool', kind: 'timeseries',
          queries: [{ expr: `count by (pool) (fedsim_worker_concurrency{${POOL}})`, legend: '{{pool}}' }],
        },
      ],
    },
    {
      title: 'Storage',
      healthy:
        'Download and upload bytes rise with each round in a steady pattern (models down, updates up); total bytes grow roughly linearly with rounds.',
      unhealthy:
        'Throughput at zero while rounds run (workers stuck on the blob store: check S3 credentials and the endpoint); bytes per round growing over time (updates larger than expected).',
      panels: [
        {
          title: 'Blob store throughput', kind: 'timeseries', width: 12, unit: 'Bps',
          queries: [{ expr: `sum by (direction) (rate(fedsim_blob_transfer_bytes_total[${RATE}]))`, legend: '{{direction}}' }],
        },
        {
          title: 'Bytes moved (total)', kind: 'stat', width: 12, unit: 'bytes',
          queries: [{ expr: 'sum by (direction) (fedsim_blob_transfer_bytes_total)', legend: '{{direction}}' }],
        },
      ],
    },
    {
      title: 'Processes',
      healthy:
        'CPU busy on workers during rounds and low on the coordinator; resident memory flat after the first rounds; event-loop lag p99 in milliseconds; no queue-depth read errors.',
      unhealthy:
        'Memory rising round after round (a leak); event-loop lag in seconds (a blocked main thread: lock renewals and scrapes suffer); queue-depth read errors (Redis slow or unreachable from the coordinator).',
      panels: [
        { title: 'CPU (cores)', kind: 'timeseries', queries: [{ expr: `sum by (job, instance) (rate(process_cpu_seconds_total{job=~".*fedsim.*"}[${RATE}]))`, legend: '{{job}} {{instance}}' }] },
        { title: 'Resident memory', kind: 'timeseries', unit: 'bytes', queries: [{ expr: 'max by (job, instance) (process_resident_memory_bytes{job=~".*fedsim.*"})', legend: '{{job}} {{instance}}' }] },
        { title: 'Event loop lag p99', kind: 'timeseries', unit: 's', queries: [{ expr: 'max by (job, instance) (nodejs_eventloop_lag_p99_seconds{job=~".*fedsim.*"})', legend: '{{job}} {{instance}}' }] },
        {
          title: 'Queue-depth read errors', kind: 'timeseries', width: 24, unit: 'ops',
          queries: [{ expr: `sum by (instance) (rate(fedsim_queue_depth_errors_total[${RATE}]))`, legend: '{{instance}}' }],
        },
      ],
    },
  ],
};

export const DASHBOARD_SPECS: readonly DashboardSpec[] = [overview, infrastructure];

function variable(name: 'experiment' | 'pool'): Record<string, unknown> {
  const source = name === 'experiment' ? 'label_values(fedsim_current_round, experiment)' : 'label_values(fedsim_worker_concurrency, pool)';
  return {
    name,
    // a sweep's runs carry the sweep's name as their experiment label (bounded), so this selects sweeps too
    label: name === 'experiment' ? 'experiment / sweep' : name,
    type: 'query',
    datasource: DATASOURCE,
    query: { query: source, refId: `${name}-values` },
    definition: source,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
  };
}

function panelJson(spec: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const defaults: Record<string, unknown> = { unit: spec.unit ?? 'short' };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.kind === 'timeseries') {
    defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stack ? 30 : 10, showPoints: 'never', stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' } };
  }
  const options =
    spec.kind === 'timeseries'
      ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
      : { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' };
  return {
    id,
    type: spec.kind,
    title: spec.title,
    ...(spec.description ? { description: spec.description } : {}),
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: spec.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: q.expr,
      legendFormat: q.legend ?? '__auto',
      range: true,
    })),
  };
}

export function dashboardJson(spec: DashboardSpec): DashboardJson {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 8;
      const h = panel.height ?? 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(panel, id++, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['fedsim'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        ...spec.variables.map(variable),
      ],
    },
    annotations: { list: [] },
    links: [{ title: 'fedsim dashboards', type: 'dashboards', tags: ['fedsim'], asDropdown: false }],
    panels,
  };
}

/** file name -> dashboard JSON */
export function buildDashboards(): Record<string, DashboardJson> {
  return Object.fromEntries(DASHBOARD_SPECS.map((spec) => [`${spec.uid}.json`, dashboardJson(spec)]));
}

export function serialiseDashboard(dashboard: DashboardJson): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

const GUIDE_START = '<!-- dashboard guide: generated by infra/grafana/dashboards.ts, do not edit by hand -->';
const GUIDE_END = '<!-- end of dashboard guide -->';

/** Markdown: per dashboard row, its panels and what a healthy and an unhealthy round look like. */
export function dashboardGuide(): string {
  const lines: string[] = [];
  for (const spec of DASHBOARD_SPECS) {
    lines.push(`#### ${spec.title} (\`${spec.uid}\`)`, '', spec.description, '');
    for (const row of spec.rows) {
      lines.push(
        `##### ${row.title}`,
        '',
        `Panels: ${row.panels.map((p) => p.title).join('; ')}.`,
        '',
        `- **Healthy:** ${row.healthy}`,
        `- **Unhealthy:** ${row.unhealthy}`,
        '',
      );
    }
  }
  return lines.join('\n');
}

/** `doc` with the text between the guide markers replaced by the current guide. */
export function withDashboardGuide(doc: string): string {
  const start = doc.indexOf(GUIDE_START);
  const end = doc.indexOf(GUIDE_END);
  if (start < 0 || end < start) throw new Error(`docs/metrics.md lacks the markers '${GUIDE_START}' … '${GUIDE_END}'`);
  return `${doc.slice(0, start + GUIDE_START.length)}\n\n${dashboardGuide()}${doc.slice(end)}`;
}

const here = dirname(fileURLToPath(import.meta.url));
export const METRICS_DOC = join(here, '..', '..', 'docs', 'metrics.md');
export const DASHBOARD_DIRS: readonly string[] = [join(here, 'dashboards'), join(here, '..', '..', 'helm', 'fedsim', 'dashboards')];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, dashboard] of Object.entries(buildDashboards())) {
    for (const dir of DASHBOARD_DIRS) writeFileSync(join(dir, file), serialiseDashboard(dashboard));
  }
  writeFileSync(METRICS_DOC, withDashboardGuide(readFileSync(METRICS_DOC, 'utf8')));
  console.log(`wrote ${DASHBOARD_SPECS.length} dashboards to ${DASHBOARD_DIRS.join(' and ')}, and the guide in ${METRICS_DOC}`);
}
