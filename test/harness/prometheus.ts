import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { freePort } from './net.js';

const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
const READY_TIMEOUT_MS = 30_000;

/** One series of a query answer; `values` holds one [unix seconds, value] pair for instant queries. */
export interface PromSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, number])[];
}

const sampleSchema = z.tuple([z.number(), z.string()]).transform(([t, v]) => [t, Number(v)] as const);
const answerSchema = z.object({ status: z.literal('success'), data: z.unknown() });
const vectorSchema = z.object({
  resultType: z.enum(['vector', 'matrix', 'scalar']),
  result: z.union([
    z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleSchema.optional(), values: z.array(sampleSchema).optional() })),
    sampleSchema,
  ]),
});
const ruleSchema = z.object({
  name: z.string(),
  query: z.string(),
  type: z.enum(['alerting', 'recording']),
  health: z.string(),
  lastError: z.string().optional(),
});
const rulesSchema = z.object({ groups: z.array(z.object({ name: z.string(), file: z.string(), rules: z.array(ruleSchema) })) });
export type PromRule = z.infer<typeof ruleSchema>;

export interface PrometheusHandle {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** the address Prometheus scrapes itself on (for a `prometheus` job) */
  readonly target: string;
  /** instant query at `time` (unix seconds; default now) */
  query(expr: string, time?: number): Promise<PromSeries[]>;
  queryRange(expr: string, range: { start: number; end: number; stepSeconds: number }): Promise<PromSeries[]>;
  /** values of `label` on the series matching `match` (what Grafana's label_values() asks) */
  labelValues(label: string, match: string): Promise<string[]>;
  rules(): Promise<PromRule[]>;
  /** every target's scrape health, by job */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  /** everything Prometheus printed so far */
  output(): string;
  stop(): Promise<void>;
}

/**
 * A private Prometheus (Debian's `prometheus` binary) on a free loopback port with a temporary
 * storage directory. `files` are written next to the config (rule files it names).
 */
export async function startPrometheus(opts: {
  config: (selfTarget: string) => string;
  files?: Readonly<Record<string, string>>;
}): Promise<PrometheusHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-prometheus-'));
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const url = `http://${target}`;
  await writeFile(join(dir, 'prometheus.yml'), opts.config(target));
  for (const [name, text] of Object.entries(opts.files ?? {})) await writeFile(join(dir, name), text);
  const child = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${target}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start '${PROMETHEUS}' (Debian package: prometheus): ${err.message}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const api = async (path: string, params: Record<string, string>): Promise<unknown> => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    const body: unknown = await response.json().catch(() => undefined);
    const parsed = answerSchema.safeParse(body);
    if (!parsed.success) throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: HTTP ${response.status} ${JSON.stringify(body)}`);
    return parsed.data.data;
  };
  const series = (data: unknown): PromSeries[] => {
    const v = vectorSchema.parse(data);
    if (v.resultType === 'scalar') return [{ metric: {}, values: [v.result as readonly [number, number]] }];
    return (v.result as { metric: Record<string, string>; value?: readonly [number, number]; values?: (readonly [number, number])[] }[])
      .map((r) => ({ metric: r.metric, values: r.values ?? (r.value ? [r.value] : []) }));
  };

  try {
    await spawned;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    target,
    async query(expr, time) {
      return series(await api('/api/v1/query', { query: expr, ...(time !== undefined ? { time: String(time) } : {}) }));
    },
    async queryRange(expr, { start, end, stepSeconds }) {
      return series(await api('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(stepSeconds) }));
    },
    async labelValues(label, match) {
      return z.array(z.string()).parse(await api(`/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': match }));
    },
    async rules() {
      return rulesSchema.parse(await api('/api/v1/rules', {})).groups.flatMap((g) => g.rules);
    },
    async targets() {
      const data = z
        .object({ activeTargets: z.array(z.object({ labels: z.record(z.string(), z.string()), health: z.string(), lastError: z.string() })) })
        .parse(await api('/api/v1/targets', {}));
      return data.activeTargets.map((t) => ({ job: t.labels['job'] ?? '', health: t.health, lastError: t.lastError }));
    },
    output: () => out,
    stop,
  };
}
