/**
 * Monitoring proven live. A real Prometheus (Debian's binary, 1 s scrapes, the project's own
 * scrape config pointed at this test's processes, the project's recording and alert rules)
 * watches a real distributed run: Redis, a local S3, two worker processes and the `fedsim run
 * --distributed` coordinator. The workers inject one client failure (a train job that throws on
 * every attempt) and one rejected update (a reply that misreports its sample count). Then every
 * Grafana panel's and variable's query is asked of Prometheus with the variables substituted,
 * every alert expression is evaluated, and the coordinator's queue board is opened in headless
 * Chromium while the run goes on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildDashboards } from '../../infra/grafana/dashboards.js';
import { freePort, startPrometheus, type PrometheusHandle, type PromSeries } from '../harness/index.js';
import { startDistributedEnv, type DistributedEnv } from '../integration/distributed-env.js';
import { sourceNodeArgs } from '../integration/fixtures.js';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from './browser.js';
import type { FaultPlan } from './fixtures/faulty-worker.js';
import { commandPath } from './tools.js';

const root = join(import.meta.dirname, '..', '..');
const promDir = join(root, 'infra', 'prometheus');
const ARTIFACTS = join(import.meta.dirname, 'artifacts');

const ROUNDS = 8;
const EXPERIMENT = 'smoke-synthetic';
/** joinRatio=1 puts every client in every round, so these jobs exist. */
const FAULTS: FaultPlan = { fail: [{ round: 1, clientId: 0 }], misreport: [{ round: 2, clientId: 1 }] };
/** Grafana's $__rate_interval at a 1 s scrape interval is 4 s; a little more smooths the short run. */
const RATE_INTERVAL = '10s';

/** Devices in virtual time, so the virtual clock moves; no deadline, so every sampled client trains and the faults above still hit. */
const SYSTEM =
  '{devices: {kind: sampled, computeSamplesPerSecond: {kind: fixed, value: 1000}, downBytesPerSecond: {kind: fixed, value: 1000000}, ' +
  'upBytesPerSecond: {kind: fixed, value: 1000000}}, availability: {kind: always}, mode: {kind: sync, overcommit: 1}}';

/** Panels whose rates may stay at 0 in this scenario, and why. */
const FLAT_PANELS: ReadonlyMap<string, string> = new Map([
  ['Queue-depth read errors', 'Redis answers every queue-depth read in a healthy run: the counter exists, at 0'],
  ['Clients dropped per second by reason', 'no deadline, so no client is dropped (drops are tested in test/integration/system-heterogeneity*.test.ts): the counter exists, at 0'],
]);
/** Panels expected to return no series at all in this scenario. */
const EMPTY_PANELS: ReadonlyMap<string, string> = new Map([
  ['Update staleness (FedBuff)', 'a synchronous run has no FedBuff arrivals (staleness is tested in test/integration/fedbuff*.test.ts)'],
]);
/** The alerts whose expressions this scenario must make true; all others must stay false. */
const FIRING: ReadonlyMap<string, string> = new Map([
  ['FedsimUpdatesRejected', 'the misreporting worker gets one update rejected'],
]);

const prometheusBin = commandPath('prometheus');
const skipPrometheus = prometheusBin ? false : 'prometheus not installed (Debian package: prometheus)';

let dist: DistributedEnv | undefined;
let prom: PrometheusHandle | undefined;
let coordinator: ChildProcess | undefined;
let coordinatorOutput = '';
let coordinatorUrl = '';
let runStartedAt = 0;
let runFinished: Promise<void> = Promise.resolve();
let outDir = '';
let browser: Browser | undefined;

/** The project's scrape config with its targets replaced by this test's processes. */
function liveScrapeConfig(text: string, self: string, coordinatorTarget: string, workerTargets: readonly string[]): string {
  const config = parseYaml(text) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: unknown }[];
  };
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  const targets: Record<string, string[]> = {
    'fedsim-coordinator': [coordinatorTarget],
    'fedsim-worker': [...workerTargets],
    prometheus: [self],
  };
  for (const job of Object.keys(targets)) assert.ok(config.scrape_configs.some((s) => s.job_name === job), `prometheus.yml has no job ${job}`);
  config.scrape_configs = config.scrape_configs
    .filter((s) => targets[s.job_name])
    .map(({ dns_sd_configs: _dns, ...s }) => ({ ...s, static_configs: [{ targets: targets[s.job_name]! }] }));
  return stringifyYaml(config);
}

before(async () => {
  if (skipPrometheus) return;
  outDir = await mkdtemp(join(tmpdir(), 'fedsim-live-'));
  dist = await startDistributedEnv(
    2,
    { FEDSIM_METRICS_HOST: '127.0.0.1', FEDSIM_TEST_FAULTS: JSON.stringify(FAULTS) },
    'test/ops/fixtures/faulty-worker.ts',
  );
  const workerTargets = dist.workers.map((w) => {
    const m = /metrics on http:\/\/([^/\s]+)\/metrics/.exec(w.output());
    assert.ok(m, `worker logged no metrics address:\n${w.output()}`);
    return m[1]!;
  });
  const coordinatorPort = await freePort();
  coordinatorUrl = `http://127.0.0.1:${coordinatorPort}`;
  const [scrapeConfig, recording, alerts] = await Promise.all(
    ['prometheus.yml', 'recording-rules.yml', 'alerts.yml'].map((f) => readFile(join(promDir, f), 'utf8')),
  );
  prom = await startPrometheus({
    config: (self) => liveScrapeConfig(scrapeConfig!, self, `127.0.0.1:${coordinatorPort}`, workerTargets),
    files: { 'recording-rules.yml': recording!, 'alerts.yml': alerts! },
  });

  // started before the run so the page opens while rounds still go on, even on a slow machine
  if (!chromiumMissing()) browser = await launchChromium();

  runStartedAt = Date.now() / 1000;
  coordinator = spawn(process.execPath, [
    ...sourceNodeArgs, 'apps/coordinator/src/cli.ts', 'run', 'configs/smoke-synthetic.yaml', '--distributed',
    '--out', outDir, '--run-id', 'live', '--stay-up', '--queue-board',
    '--set', `rounds=${ROUNDS}`, '--set', 'joinRatio=1', '--set', 'failures.attempts=2', '--set', `system=${SYSTEM}`,
  ], {
    cwd: root,
    env: { ...process.env, ...dist.env, FEDSIM_METRICS_HOST: '127.0.0.1', FEDSIM_METRICS_PORT: String(coordinatorPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = coordinator;
  child.stdout!.on('data', (d: Buffer) => (coordinatorOutput += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (coordinatorOutput += d.toString()));
  runFinished = (async () => {
    const deadline = Date.now() + 300_000;
    while (!/run finished; serving/.test(coordinatorOutput)) {
      if (child.exitCode !== null) throw new Error(`coordinator exited with ${child.exitCode}:\n${coordinatorOutput}`);
      if (Date.now() > deadline) throw new Error(`run not finished after 300 s:\n${coordinatorOutput}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  runFinished.catch(() => undefined); // awaited by the tests
});

after(async () => {
  await browser?.close();
  if (coordinator && coordinator.exitCode === null) {
    const exited = new Promise((resolve) => coordinator!.once('exit', resolve));
    coordinator.kill('SIGTERM');
    const timer = setTimeout(() => coordinator!.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await prom?.stop();
  await dist?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\ncoordinator:\n${coordinatorOutput}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the queue board shows every queue of the run and its job counts in headless Chromium', { skip: skipPrometheus || chromiumMissing() }, async () => {
  const prefix = dist!.env['FEDSIM_QUEUE_PREFIX']!;
  const queues = [`${prefix}-aggregate`, `${prefix}-train-default`];
  try {
    // the board answers once the coordinator serves; open it while rounds still run
    await waitFor('queue board', async () => ((await fetch(`${coordinatorUrl}/queues`)).ok ? true : undefined));
    const finishedBeforeLoad = /run finished/.test(coordinatorOutput);
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${coordinatorUrl}/queues`);
    for (const name of queues) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 60_000 });
    // job counts: a pool's queue has completed train jobs once a round has been aggregated
    await waitFor('completed jobs on the board', async () => {
      // a reload aborts the page's API call still in flight: wait for it to answer before reading
      await Promise.all([page.waitForResponse((r) => r.url().includes('/api/queues') && r.ok(), { timeout: 30_000 }), page.reload()]);
      await page.getByText(queues[1]!, { exact: true }).first().waitFor({ timeout: 10_000 });
      await page.getByText('Loading...').first().waitFor({ state: 'hidden', timeout: 10_000 });
      const text = await page.locator('body').innerText();
      return /completed\s*\d+|\d+\s*completed/i.test(text) ? text : undefined;
    });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'queue-board.png'), fullPage: true });
    const text = await page.locator('body').innerText();
    for (const name of queues) assert.ok(text.includes(name), `the board lists ${name}`);
    // each queue's card shows its job total; the train queue's has every client job of the rounds so far
    const totals = [...text.matchAll(/(\d+)\s+Jobs?\b/g)].map((m) => Number(m[1]));
    assert.equal(totals.length, queues.length, `one job total per queue card:\n${text}`);
    assert.ok(totals.every((n) => n >= 1), `job totals ${totals.join(', ')}`);
    assert.ok(!finishedBeforeLoad, 'the board was opened while the run was still going');
    // the API the page reads agrees: counts per state for each queue, read-only
    const api = (await (await fetch(`${coordinatorUrl}/queues/api/queues?page=1&jobsPerPage=10`)).json()) as {
      queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[];
    };
    assert.deepEqual(api.queues.map((q) => q.name).sort(), queues.sort());
    assert.ok(api.queues.every((q) => q.readOnlyMode), 'read-only by default');
    const train = api.queues.find((q) => q.name === `${prefix}-train-default`)!;
    assert.ok((train.counts['completed'] ?? 0) >= 1, JSON.stringify(train.counts));
    assert.equal((await fetch(`${coordinatorUrl}/queues/api/queues/${prefix}-train-default/empty`, { method: 'PUT' })).status, 405);
  } finally {
    await browser?.close();
    browser = undefined;
  }
});

interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

function dashboardQueries(): { queries: DashboardQuery[]; variables: { dashboard: string; name: string; metric: string; label: string }[] } {
  const queries: DashboardQuery[] = [];
  const variables: { dashboard: string; name: string; metric: string; label: string }[] = [];
  for (const [file, d] of Object.entries(buildDashboards())) {
    const dashboard = d as {
      panels: { title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; type: string; query?: { query: string } }[] };
    };
    for (const panel of dashboard.panels) for (const t of panel.targets ?? []) queries.push({ dashboard: file, panel: panel.title, expr: t.expr });
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(v.query?.query ?? '');
      assert.ok(m, `${file}: variable ${v.name} has an unexpected query`);
      variables.push({ dashboard: file, name: v.name, metric: m[1]!, label: m[2]! });
    }
  }
  return { queries, variables };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const finiteValues = (series: readonly PromSeries[]) => series.flatMap((s) => s.values.map(([, v]) => v)).filter(Number.isFinite);

test('every dashboard variable and panel query returns finite data from the live Prometheus', { skip: skipPrometheus }, async () => {
  await runFinished;
  // a few more scrapes and rule evaluations of the final state
  await new Promise((r) => setTimeout(r, 4000));
  const end = Date.now() / 1000;
  const { queries, variables } = dashboardQueries();

  const values = new Map<string, string>();
  for (const v of variables) {
    const found = await prom!.labelValues(v.label, v.metric);
    assert.ok(found.length > 0, `${v.dashboard}: variable ${v.name} (label_values(${v.metric}, ${v.label})) is empty`);
    values.set(v.name, found.map(escapeRegex).join('|'));
  }
  assert.equal(values.get('experiment'), EXPERIMENT);

  const problems: string[] = [];
  for (const q of queries) {
    const expr = q.expr
      .replace(/\$__rate_interval/g, RATE_INTERVAL)
      .replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, (whole: string, name: string) => values.get(name) ?? whole);
    assert.ok(!expr.includes('$'), `${q.panel}: unsubstituted variable in ${expr}`);
    const series = await prom!.queryRange(expr, { start: runStartedAt, end, stepSeconds: 1 });
    const where = `${q.dashboard} / ${q.panel}: ${expr}`;
    if (EMPTY_PANELS.has(q.panel)) {
      if (series.length > 0) problems.push(`${where}\n  listed as empty (${EMPTY_PANELS.get(q.panel)}) but returned ${series.length} series`);
      continue;
    }
    const finite = finiteValues(series);
    if (series.length === 0) problems.push(`${where}\n  no series`);
    else if (finite.length === 0) problems.push(`${where}\n  ${series.length} series, no finite value`);
    else if (/rate\(|:rate\d+m/.test(expr) && !FLAT_PANELS.has(q.panel) && !finite.some((v) => v > 0)) {
      problems.push(`${where}\n  the rate never leaves 0`);
    }
  }
  assert.deepEqual(problems, [], `panels without data:\n${problems.join('\n')}\n\nPrometheus:\n${prom!.output()}`);

  // the failure panels show this scenario's events, not just any number
  const failures = await prom!.query(`sum(increase(fedsim_client_failures_total{experiment="${EXPERIMENT}"}[10m]))`);
  assert.ok((finiteValues(failures)[0] ?? 0) >= 0.9, `client failures seen: ${JSON.stringify(failures)}`);
  const rejected = await prom!.query(`sum(increase(fedsim_updates_rejected_total{experiment="${EXPERIMENT}"}[10m]))`);
  assert.ok((finiteValues(rejected)[0] ?? 0) >= 0.9, `rejected updates seen: ${JSON.stringify(rejected)}`);
  const committed = await prom!.query(`max(fedsim_current_round{experiment="${EXPERIMENT}"})`);
  assert.equal(finiteValues(committed)[0], ROUNDS - 1, 'the last round is on the dashboard');
});

test('the scenario fires exactly the alerts it should; every rule evaluates cleanly', { skip: skipPrometheus }, async () => {
  await runFinished;
  await new Promise((r) => setTimeout(r, 2000));
  const rules = await prom!.rules();
  const unhealthy = rules.filter((r) => r.health !== 'ok');
  assert.deepEqual(unhealthy.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);
  const alerts = rules.filter((r) => r.type === 'alerting');
  assert.ok(alerts.length >= 6, `alert rules loaded: ${alerts.map((a) => a.name).join(', ')}`);
  for (const name of FIRING.keys()) assert.ok(alerts.some((a) => a.name === name), `${name} is loaded`);
  // `for:` durations (minutes) outlast this run, so the expressions are evaluated, not the alert states
  for (const alert of alerts) {
    const result = await prom!.query(alert.query);
    if (FIRING.has(alert.name)) assert.ok(result.length > 0, `${alert.name} should fire (${FIRING.get(alert.name)}): ${alert.query}`);
    else assert.deepEqual(result, [], `${alert.name} should stay quiet: ${alert.query}`);
  }
  const recorded = rules.filter((r) => r.type === 'recording');
  assert.ok(recorded.length >= 5, 'the recording rules are loaded');
  for (const rule of recorded) {
    const series = await prom!.queryRange(rule.name, { start: runStartedAt, end: Date.now() / 1000, stepSeconds: 1 });
    assert.ok(finiteValues(series).length > 0, `${rule.name} recorded no finite value`);
  }
  const targets = await prom!.targets();
  assert.deepEqual(targets.filter((t) => t.health !== 'up'), [], 'every target is scraped');
  assert.deepEqual([...new Set(targets.map((t) => t.job))].sort(), ['fedsim-coordinator', 'fedsim-worker', 'prometheus']);
});
