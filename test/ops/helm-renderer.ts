/**
 * Renders helm/fedsim for tests: with `helm template` when helm is installed, else with
 * test/ops/helm-render (Go's text/template + sprig, the libraries Helm's engine uses), built from
 * Debian's Go packages when they are installed. Neither is installed by the tests themselves.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { commandPath } from './tools.js';

export const CHART_DIR = join(import.meta.dirname, '..', '..', 'helm', 'fedsim');
const RENDERER_SOURCE = join(import.meta.dirname, 'helm-render', 'main.go');
const DEBIAN_GOPATH = '/usr/share/gocode';

export type RenderResult = { ok: true; manifest: string } | { ok: false; error: string };

export interface ChartRenderer {
  readonly name: string;
  render(values: readonly object[], apiVersions?: readonly string[]): RenderResult;
}

function writeValues(values: readonly object[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-values-'));
  return values.map((v, i) => {
    const file = join(dir, `values-${i}.yaml`);
    writeFileSync(file, stringify(v));
    return file;
  });
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): RenderResult {
  const r = spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { ok: false, error: String(r.error) };
  return r.status === 0 ? { ok: true, manifest: r.stdout } : { ok: false, error: `${r.stderr}${r.stdout}` };
}

function helmRenderer(helm: string): ChartRenderer {
  return {
    name: `helm (${helm})`,
    render(values, apiVersions = []) {
      const files = writeValues(values);
      return run(helm, [
        'template', 'fedsim', CHART_DIR, '--namespace', 'default',
        ...files.flatMap((f) => ['-f', f]),
        ...apiVersions.flatMap((a) => ['--api-versions', a]),
      ]);
    },
  };
}

function goRenderer(go: string): ChartRenderer | string {
  const source = readFileSync(RENDERER_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'fedsim-helm-render');
  const binary = join(dir, `helm-render-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: DEBIAN_GOPATH,
      GOFLAGS: '',
      GOCACHE: process.env.GOCACHE ?? join(dir, 'gocache'),
    };
    const built = run(go, ['build', '-o', binary, RENDERER_SOURCE], env);
    if (!built.ok) return `building test/ops/helm-render failed: ${built.error}`;
  }
  return {
    name: 'helm-render (text/template + sprig)',
    render(values, apiVersions = []) {
      const files = writeValues(values);
      return run(binary, [
        ...files.flatMap((f) => ['-f', f]),
        ...apiVersions.flatMap((a) => ['-api-versions', a]),
        '-release', 'fedsim', '-namespace', 'default', CHART_DIR,
      ]);
    },
  };
}

/** A renderer, or the reason there is none (the tests then skip rendering and say why). */
export function findChartRenderer(): ChartRenderer | string {
  const helm = commandPath('helm');
  if (helm) return helmRenderer(helm);
  const go = commandPath('go');
  const sprig = existsSync(join(DEBIAN_GOPATH, 'src/github.com/Masterminds/sprig'));
  const ghodss = existsSync(join(DEBIAN_GOPATH, 'src/github.com/ghodss/yaml'));
  if (go && sprig && ghodss) return goRenderer(go);
  return 'no chart renderer: install helm, or Debian packages golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev';
}
