import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { reportCommand } from '../src/sweep/commands.js';
import { loadSweepFile } from '../src/sweep/sweep-file.js';
import { runSweep } from '../src/sweep/sweep-run.js';
import { parseCoordinatorEnv } from '../src/env.js';
import { parseExperiment } from '@fedsim/runtime';
import type { ReportInput, RunData } from '../src/report/collect.js';
import { writeReport } from '../src/report/write-report.js';
import { virtualRows } from './virtual-fixtures.js';

/** The environment as the CLI parses it, read when called (tests set REDIS_URL, S3_* first). */
const processEnv = () => parseCoordinatorEnv(process.env);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CHROMIUM = process.env['FEDSIM_CHROMIUM'] ?? '/usr/bin/chromium';
/** Screenshots are kept here for people to look at (gitignored). */
export const ARTIFACTS = join(repo, 'test-artifacts');

const dir = await mkdtemp(join(tmpdir(), 'fedsim-report-'));
after(() => rm(dir, { recursive: true, force: true }));

test(
  'the smoke sweep report opens offline in Chromium with its tables and plots',
  { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)` },
  async () => {
    const plan = await loadSweepFile(join(repo, 'configs/sweeps/smoke.yaml'));
    const outcome = await runSweep(plan, { distributed: false, out: dir, workers: 2, backend: 'wasm', quiet: true }, processEnv());
    assert.ok(outcome.runs.every((r) => r.outcome === 'done'));
    const files = await reportCommand('smoke', { distributed: false, out: dir }, processEnv());
    const html = files.find((f) => f.endsWith('report.html'))!;
    const text = await readFile(html, 'utf8');
    assert.doesNotMatch(text, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no network references');
    const csv = (await readFile(join(dirname(html), 'groups.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 3);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(html).href);

      const groups = await page.$$eval('#groups tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      assert.deepEqual(groups.map((g) => g[0]), ['fedavg', 'fedper']);
      for (const g of groups) {
        assert.equal(g[2], '2 / 2', 'two seeds finished');
        assert.match(g[3]!, /^\d+\.\d\d ± \d+\.\d\d$/, 'best: mean ± std over seeds');
        assert.match(g[5]!, /^\d+\.\d\d$/, 'std over clients in its own column');
      }
      const headers = await page.$$eval('#groups thead th', (ths) => ths.map((t) => t.textContent));
      assert.ok(headers.includes('best acc (%) mean ± std over seeds') && headers.includes('final std over clients (%) mean over seeds'));
      // the table agrees with the CSV numbers
      const fedavgCsv = csv[1]!.split(',');
      assert.equal(groups[0]![3], `${Number(fedavgCsv[4]).toFixed(2)} ± ${Number(fedavgCsv[5]).toFixed(2)}`);
      const runs = await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent));
      assert.deepEqual(runs, plan.runs.map((r) => r.runId));

      for (const id of ['accuracy', 'clients', 'bytes', 'walltime']) {
        const box = await page.locator(`#plot-${id} svg`).boundingBox();
        assert.ok(box && box.width > 300 && box.height > 100, `${id} plot rendered with a size: ${JSON.stringify(box)}`);
      }
      // accuracy curves: one line per group, a band per group, a legend naming both groups
      const lines = await page.$$eval('#plot-accuracy svg .mark-line path', (ps) => ps.map((p) => p.getAttribute('d') ?? ''));
      assert.equal(lines.filter((d) => d.length > 10).length, 2, 'two mean curves');
      assert.ok((await page.locator('#plot-accuracy svg .mark-area path').count()) >= 2, 'bands over seeds');
      const legend = await page.$$eval('#plot-accuracy svg .role-legend-label text', (ts) => ts.map((t) => t.textContent));
      assert.deepEqual(legend, ['fedavg', 'fedper']);
      assert.ok((await page.locator('#plot-clients svg .role-mark path, #plot-clients svg .role-mark rect').count()) > 0, 'boxplots drawn');
      assert.deepEqual(requests, [], 'the page made no network requests');

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-smoke.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  },
);

/** A four-round run of group `group`, seed `seed`, evaluated at model rounds 0, 2 and 4. */
function reportRun(group: string, seed: number, timed: boolean): RunData {
  const config = parseExperiment({
    name: 'vt', seed, data: { kind: 'synthetic', numSamples: 40, featureShape: [4], numClasses: 2 },
    partition: { kind: 'iid', numClients: 4 }, model: 'logreg', algorithm: { name: 'fedavg' }, rounds: 4,
  });
  const stats = (acc: number) => ({ pooledAccuracy: acc, pooledLoss: 1, mean: acc, std: 0.1, min: 0, max: 1, clients: 4, samples: 40 });
  const evals = [0, 2, 4].map((round) => ({ round, results: { personalized: stats(0.3 + 0.1 * round + 0.01 * seed) }, perClient: {}, failures: [] }));
  return { runId: `${group}-${seed}`, group, values: {}, config, evals, rows: timed ? virtualRows() : [], status: null };
}

test(
  'a report of runs in virtual time plots accuracy against the clock and drops by reason; a plain one has neither',
  { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)` },
  async () => {
    const input = (timed: boolean): ReportInput => ({
      title: timed ? 'virtual' : 'plain', kind: 'sweep', axisPaths: [], referenceTable: null, missing: [],
      runs: [reportRun('sync', 1, timed), reportRun('sync', 2, timed)],
    });
    const timed = await writeReport(join(dir, 'virtual'), input(true), null, 'cmd');
    const plain = await writeReport(join(dir, 'plain'), input(false), null, 'cmd');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(pathToFileURL(join(timed.dir, 'report.html')).href);
      const box = await page.locator('#plot-virtual-accuracy svg').boundingBox();
      assert.ok(box && box.width > 300 && box.height > 100, `virtual-time plot rendered: ${JSON.stringify(box)}`);
      // one line per seed, each through its three evaluations (θ^0 at 0 s, then 20 s and 40 s)
      const lines = await page.$$eval('#plot-virtual-accuracy svg .mark-line path', (ps) => ps.map((p) => p.getAttribute('d') ?? ''));
      assert.deepEqual(lines.map((d) => (d.match(/[ML]/g) ?? []).length), [3, 3]);
      const ticks = await page.$$eval('#plot-virtual-accuracy svg .role-axis-label text', (ts) => ts.map((t) => t.textContent ?? ''));
      assert.ok(ticks.includes('0') && ticks.includes('40'), `x axis spans 0..40 s: ${ticks.join(' ')}`);
      // drops: round 0 deadline + overcommit, round 2 two offline, the same in both seeds
      const bars = await page.$$eval('#plot-dropped svg .mark-rect path', (ps) =>
        ps.map((p) => p.getAttribute('aria-label') ?? '').filter((l) => !/clients: 0(;|$)/.test(l)),
      );
      assert.equal(bars.length, 3, bars.join('\n'));
      assert.ok(bars.some((l) => /round: 2.*clients: 2.*offline|round: 2.*offline.*clients: 2/.test(l)), bars.join('\n'));
      const runs = await page.$$eval('#runs tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].at(-1)?.textContent));
      assert.deepEqual(runs, ['40.0', '40.0'], 'the runs table shows the virtual clock');

      await page.goto(pathToFileURL(join(plain.dir, 'report.html')).href);
      assert.equal(await page.locator('#plot-accuracy svg').count(), 1);
      assert.equal(await page.locator('#plot-virtual-accuracy, #plot-dropped').count(), 0, 'no virtual-time plots without a system block');
      await mkdir(ARTIFACTS, { recursive: true });
      await page.goto(pathToFileURL(join(timed.dir, 'report.html')).href);
      await page.screenshot({ path: join(ARTIFACTS, 'report-virtual-time.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  },
);
