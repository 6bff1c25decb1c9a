import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_METRICS_PORTS } from '@fedsim/runtime/observability';
import { buildDashboards } from '../../infra/grafana/dashboards.js';
import { RECORDING_RULES_FILE, exposedSeries, recordedSeries, recordingRules, selectorsOf } from './promql.js';
import { commandPath } from './tools.js';

const root = join(import.meta.dirname, '..', '..');
const alertsFile = join(root, 'infra/prometheus/alerts.yml');

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleFile { groups: { name: string; rules: Rule[] }[] }

const rules = parseYaml(readFileSync(alertsFile, 'utf8')) as RuleFile;
const allRules = rules.groups.flatMap((g) => g.rules);

test('alert rules: structure, severities, annotations', () => {
  assert.ok(rules.groups.length > 0);
  const names = new Set<string>();
  for (const group of rules.groups) {
    assert.match(group.name, /^fedsim\./);
    for (const rule of group.rules) {
      assert.ok(rule.alert, `group ${group.name}: every rule is an alert`);
      assert.ok(!names.has(rule.alert), `duplicate alert ${rule.alert}`);
      names.add(rule.alert);
      assert.match(rule.alert, /^Fedsim[A-Z][A-Za-z]+$/);
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: 'for' is a duration`);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert}: summary and description`);
    }
  }
  for (const required of ['FedsimRoundOverdue', 'FedsimClientFailureRateHigh', 'FedsimQueueBacklogGrowing', 'FedsimNoWorkers']) {
    assert.ok(names.has(required), `missing alert ${required}`);
  }
});

test('recording rules: one group, level:metric:operations names, each read by a dashboard, an alert or another rule', async () => {
  const groups = recordingRules();
  assert.deepEqual(groups.map((g) => g.name), ['fedsim.recording']);
  const dashboards = JSON.stringify(buildDashboards());
  const records = groups.flatMap((g) => g.rules);
  for (const rule of records) {
    assert.match(rule.record, /^[a-z_]+:fedsim_[a-z_]+:rate5m$/, rule.record);
    const readers = [dashboards, ...allRules.map((a) => a.expr), ...records.map((r) => r.expr)];
    assert.ok(readers.some((text) => text.includes(rule.record)), `${rule.record} is recorded but nothing reads it`);
  }
});

test('alert and recording expressions parse and read only registered metrics (or recorded series) and labels', async () => {
  const registered = await exposedSeries();
  const series = new Map([...registered, ...recordedSeries(registered)]);
  const rules = [
    ...recordingRules().flatMap((g) => g.rules).map((r) => ({ name: r.record, expr: r.expr })),
    ...allRules.map((r) => ({ name: r.alert ?? '', expr: r.expr })),
  ];
  for (const rule of rules) {
    for (const { metric, labels } of selectorsOf(rule.expr)) {
      const info = series.get(metric);
      assert.ok(info, `${rule.name}: '${metric}' is neither registered nor recorded`);
      for (const label of labels) assert.ok(info.labels.has(label), `${rule.name}: ${metric} has no label '${label}'`);
    }
  }
});

test('a broken expression is caught by the structural check', () => {
  assert.throws(() => selectorsOf('sum by (queue (fedsim_queue_jobs'), /PromQL syntax error/);
});

test('the Helm chart ships the same rule files', () => {
  assert.equal(readFileSync(join(root, 'helm/fedsim/files/alerts.yml'), 'utf8'), readFileSync(alertsFile, 'utf8'));
  assert.equal(readFileSync(join(root, 'helm/fedsim/files/recording-rules.yml'), 'utf8'), readFileSync(RECORDING_RULES_FILE, 'utf8'));
});

test('Prometheus scrapes the compose coordinator and workers on their default metrics ports', () => {
  const config = parseYaml(readFileSync(join(root, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  assert.deepEqual(config.rule_files, ['recording-rules.yml', 'alerts.yml']);
  const job = (name: string) => config.scrape_configs.find((s) => s.job_name === name);
  assert.deepEqual(job('fedsim-coordinator')?.static_configs?.[0]?.targets, [`coordinator:${DEFAULT_METRICS_PORTS.coordinator}`]);
  const workers = job('fedsim-worker')?.dns_sd_configs?.[0];
  assert.deepEqual(workers?.names, ['worker']);
  assert.equal(workers?.port, DEFAULT_METRICS_PORTS.worker);
});

const promtool = commandPath('promtool');

test('promtool: rule file, config and rule unit tests', { skip: promtool ? false : 'promtool not installed (Debian package: prometheus)' }, () => {
  const run = (...args: string[]) => {
    const r = spawnSync(promtool!, args, { cwd: join(root, 'infra/prometheus'), encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  assert.match(run('check', 'rules', 'recording-rules.yml'), /SUCCESS: \d+ rules found/);
  assert.match(run('check', 'rules', 'alerts.yml'), /SUCCESS: \d+ rules found/);
  run('check', 'config', 'prometheus.yml');
  run('test', 'rules', 'alerts.test.yml');
});
