import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { METRIC_CATALOG } from '@fedsim/runtime/observability';
import { METRICS_DOC, withDashboardGuide } from '../../infra/grafana/dashboards.js';
import { ENV_CONTRACT } from './contract.js';

const root = join(import.meta.dirname, '..', '..');
const metricsDoc = readFileSync(join(root, 'docs/metrics.md'), 'utf8');
const deployDoc = readFileSync(join(root, 'docs/deploy-kubernetes.md'), 'utf8');

test('docs/metrics.md documents every metric with its type and labels', () => {
  for (const spec of Object.values(METRIC_CATALOG)) {
    const row = metricsDoc.split('\n').find((line) => line.startsWith(`| \`fedsim_${spec.name}\` |`));
    assert.ok(row, `no table row for fedsim_${spec.name}`);
    const cells = row.split('|').map((c) => c.trim());
    assert.equal(cells[2], spec.type, `fedsim_${spec.name}: type`);
    const labels = cells[3] === '–' ? [] : cells[3]!.split(',').map((l) => l.trim().replace(/`/g, ''));
    assert.deepEqual(labels, [...spec.labelNames], `fedsim_${spec.name}: labels`);
  }
});

test('docs/metrics.md lists every alert', () => {
  const rules = parseYaml(readFileSync(join(root, 'infra/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] };
  for (const rule of rules.groups.flatMap((g) => g.rules)) assert.ok(metricsDoc.includes(`| \`${rule.alert}\` |`), rule.alert);
});

test('docs/metrics.md carries the current per-row dashboard guide (run infra/grafana/dashboards.ts)', () => {
  assert.equal(metricsDoc, withDashboardGuide(readFileSync(METRICS_DOC, 'utf8')));
  assert.match(metricsDoc, /##### Failures, retries and rejections\n\nPanels: [^\n]+\n\n- \*\*Healthy:\*\* .+\n- \*\*Unhealthy:\*\* .+/);
});

test('docs/deploy-kubernetes.md covers the environment contract', () => {
  for (const name of ENV_CONTRACT) assert.ok(deployDoc.includes(`\`${name}\``), name);
});

test('every spec a source comment cites is in docs/specs/, and none is cited by a bare name', () => {
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
      } else if (e.name.endsWith('.ts')) sources.push(p);
    }
  };
  for (const dir of ['libs', 'apps', 'bench', 'test']) walk(dir);
  const specs = new Set(readdirSync(join(root, 'docs/specs')));
  const cited = new Set<string>();
  for (const file of sources) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/docs\/specs\/([\w.-]+\.md)/g)) cited.add(m[1]!);
    for (const m of text.matchAll(/(?<![\w/])((?:protocol|baselines|fedbabu|fedobp|fiarse|reference-results)\.md)/g)) {
      assert.fail(`${file} cites ${m[1]} without its folder; write docs/specs/${m[1]}`);
    }
  }
  assert.ok(cited.size > 0);
  for (const name of cited) assert.ok(specs.has(name), `docs/specs/${name} is cited but missing`);
});
