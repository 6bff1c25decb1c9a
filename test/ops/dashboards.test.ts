import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_DIRS, buildDashboards, serialiseDashboard } from '../../infra/grafana/dashboards.js';
import { expandGrafanaVariables, exposedSeries, recordedSeries, recordingRules, selectorsOf } from './promql.js';

const root = join(import.meta.dirname, '..', '..');

interface Target { expr: string; refId: string }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Target[] }
interface Dashboard { uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: unknown }[] } }

const dashboards = buildDashboards() as unknown as Record<string, Dashboard>;

function queriesOf(dashboard: Dashboard): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  for (const panel of dashboard.panels) for (const t of panel.targets ?? []) out.push({ panel: panel.title, expr: t.expr });
  for (const v of dashboard.templating.list) {
    if (v.type === 'query') {
      // label_values(metric, label) is Grafana syntax, not PromQL: check its metric and label
      const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec((v.query as { query: string }).query);
      assert.ok(m, `variable ${v.name}: unexpected query`);
      out.push({ panel: `variable ${v.name}`, expr: `${m[1]}{${m[2]}="x"}` });
    }
  }
  return out;
}

test('the provisioned dashboard files are the generated ones (run infra/grafana/dashboards.ts)', () => {
  for (const dir of DASHBOARD_DIRS) {
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(onDisk, Object.keys(dashboards).sort(), dir);
    for (const [file, dashboard] of Object.entries(buildDashboards())) {
      assert.equal(readFileSync(join(dir, file), 'utf8'), serialiseDashboard(dashboard), `${dir}/${file} is stale`);
    }
  }
});

test('every panel query parses and reads only metrics and labels the code registers (or the recording rules write)', async () => {
  const registered = await exposedSeries();
  const series = new Map([...registered, ...recordedSeries(registered)]);
  let checked = 0;
  for (const [file, dashboard] of Object.entries(dashboards)) {
    for (const { panel, expr } of queriesOf(dashboard)) {
      const selectors = selectorsOf(expandGrafanaVariables(expr));
      assert.ok(selectors.length > 0, `${file} / ${panel}: no metric in ${expr}`);
      for (const { metric, labels } of selectors) {
        const info = series.get(metric);
        assert.ok(info, `${file} / ${panel}: '${metric}' is not a registered metric`);
        for (const label of labels) assert.ok(info.labels.has(label), `${file} / ${panel}: ${metric} has no label '${label}'`);
        checked += 1;
      }
    }
  }
  assert.ok(checked > 30, `only ${checked} selectors checked`);
});

test('the dashboards cover progress, durations, throughput, queues, failures, workers and bytes', () => {
  // a recorded series counts as showing the metrics its rule reads
  const ruleOf = new Map(recordingRules().flatMap((g) => g.rules).map((r) => [r.record, r.expr]));
  const queried = new Set<string>();
  const add = (expr: string): void => {
    for (const s of selectorsOf(expr)) {
      queried.add(s.metric);
      const rule = ruleOf.get(s.metric);
      if (rule) add(rule);
    }
  };
  for (const dashboard of Object.values(dashboards)) for (const { expr } of queriesOf(dashboard)) add(expandGrafanaVariables(expr));
  for (const metric of [
    'fedsim_current_round', 'fedsim_eval_accuracy_ratio', 'fedsim_eval_loss', 'fedsim_train_loss',
    'fedsim_round_duration_seconds_bucket', 'fedsim_job_duration_seconds_bucket', 'fedsim_client_updates_total',
    'fedsim_queue_jobs', 'fedsim_client_failures_total', 'fedsim_job_retries_total', 'fedsim_updates_rejected_total',
    'fedsim_worker_busy_slots', 'fedsim_worker_concurrency', 'fedsim_blob_transfer_bytes_total', 'process_cpu_seconds_total',
  ]) {
    assert.ok(queried.has(metric), `no panel shows ${metric}`);
  }
});

test('dashboard layout: unique ids, panels inside the 24-column grid, a datasource variable', () => {
  for (const [file, dashboard] of Object.entries(dashboards)) {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
    for (const p of dashboard.panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${file} / ${p.title}: outside the grid`);
    }
    assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'), file);
    const refs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => `${p.id}/${t.refId}`));
    assert.equal(new Set(refs).size, refs.length, `${file}: duplicate refIds within a panel`);
  }
});

test('Grafana provisioning points at the dashboards folder and the compose Prometheus', () => {
  const provider = parseYaml(readFileSync(join(root, 'infra/grafana/provisioning/dashboards/fedsim.yaml'), 'utf8')) as {
    providers: { options: { path: string } }[];
  };
  const datasource = parseYaml(readFileSync(join(root, 'infra/grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as {
    datasources: { type: string; url: string }[];
  };
  const compose = parseYaml(readFileSync(join(root, 'infra/compose.yaml'), 'utf8')) as {
    services: Record<string, { volumes?: string[]; ports?: string[] }>;
  };
  const grafanaVolumes = compose.services.grafana?.volumes ?? [];
  const dashboardsMount = grafanaVolumes.find((v) => v.startsWith('./grafana/dashboards:'));
  assert.ok(dashboardsMount, 'compose mounts the dashboards');
  assert.equal(dashboardsMount.split(':')[1], provider.providers[0]!.options.path);
  assert.ok(grafanaVolumes.some((v) => v.startsWith('./grafana/provisioning:/etc/grafana/provisioning')));
  assert.equal(datasource.datasources[0]!.type, 'prometheus');
  assert.match(datasource.datasources[0]!.url, /^http:\/\/prometheus:9090$/);
  assert.ok(compose.services.prometheus, 'compose has a prometheus service');
});
