/**
 * Helpers for the ops tests: parse PromQL with the Prometheus project's own grammar
 * (@prometheus-io/lezer-promql) and list the series a registry exposes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { Registry } from 'prom-client';
import { createFedsimMetrics } from '@fedsim/runtime/observability';

export interface Selector {
  readonly metric: string;
  /** label names used in the selector's matchers */
  readonly labels: readonly string[];
}

/** Grafana variables replaced by valid PromQL so the expression parses. */
export function expandGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, 'x');
}

/** Every vector selector in an expression; throws on a syntax error. */
export function selectorsOf(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const selectors: Selector[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name !== 'VectorSelector') return;
      let metric = '';
      const labels: string[] = [];
      const cursor = node.node.cursor();
      // walk the selector's subtree: the metric Identifier and the LabelName of each matcher
      const end = node.to;
      while (cursor.next() && cursor.from < end) {
        if (cursor.name === 'Identifier' && metric === '') metric = expr.slice(cursor.from, cursor.to);
        if (cursor.name === 'LabelName') labels.push(expr.slice(cursor.from, cursor.to));
      }
      selectors.push({ metric, labels });
    },
  });
  if (errors.length > 0) {
    throw new Error(`PromQL syntax error at offset ${errors[0]} in: ${expr}`);
  }
  return selectors;
}

export interface SeriesInfo {
  readonly labels: ReadonlySet<string>;
  readonly type: string;
}

/**
 * Series names a fedsim process exposes (fedsim metrics, default process/nodejs metrics, and
 * the histogram _bucket/_sum/_count series), with their label names. `job` and `instance` are
 * added by Prometheus at scrape time.
 */
export async function exposedSeries(): Promise<Map<string, SeriesInfo>> {
  const metrics = createFedsimMetrics({ role: 'coordinator', registry: new Registry() });
  const series = new Map<string, SeriesInfo>();
  const scrapeLabels = ['job', 'instance'];
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const labelNames = (metric as unknown as { labelNames?: string[] }).labelNames ?? [];
    const own = (await metrics.registry.getSingleMetric(metric.name)) as unknown as { labelNames?: string[] } | undefined;
    const labels = new Set([...labelNames, ...(own?.labelNames ?? []), ...scrapeLabels]);
    for (const value of metric.values) for (const l of Object.keys(value.labels)) labels.add(l);
    const type = String(metric.type);
    series.set(metric.name, { labels, type });
    if (type === 'histogram') {
      series.set(`${metric.name}_bucket`, { labels: new Set([...labels, 'le']), type });
      series.set(`${metric.name}_sum`, { labels, type });
      series.set(`${metric.name}_count`, { labels, type });
    }
  }
  // Prometheus's own per-target series
  series.set('up', { labels: new Set(scrapeLabels), type: 'gauge' });
  return series;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export const RECORDING_RULES_FILE = join(import.meta.dirname, '..', '..', 'infra', 'prometheus', 'recording-rules.yml');

export function recordingRules(file = RECORDING_RULES_FILE): { name: string; rules: RecordingRule[] }[] {
  return (parseYaml(readFileSync(file, 'utf8')) as { groups: { name: string; rules: RecordingRule[] }[] }).groups;
}

/**
 * The series the recording rules write, with their labels: those of the `by (...)` clause, or,
 * for a rule combining recorded series without one, the labels of the series it reads.
 */
export function recordedSeries(known: ReadonlyMap<string, SeriesInfo>, file = RECORDING_RULES_FILE): Map<string, SeriesInfo> {
  const recorded = new Map<string, SeriesInfo>();
  for (const rule of recordingRules(file).flatMap((g) => g.rules)) {
    const by = /\bby\s*\(([^)]*)\)/.exec(rule.expr)?.[1];
    const labels = by !== undefined
      ? new Set(by.split(',').map((l) => l.trim()).filter(Boolean))
      : new Set(selectorsOf(rule.expr).flatMap((s) => [...(recorded.get(s.metric) ?? known.get(s.metric))?.labels ?? []]));
    recorded.set(rule.record, { labels, type: 'recorded' });
  }
  return recorded;
}
