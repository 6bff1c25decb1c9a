import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import { keys, runExperiment } from '@fedsim/runtime';
import type { BlobStore, RoundRow, RunSummary } from '@fedsim/runtime';
import { committedStateRefs, decodeInstruction, decodeJson, decodeModel } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { createModel } from '@fedsim/fl/models';
import { patchFromInstruction, submodelElements } from '@fedsim/fl/algorithms';
import { fedBuffExperiment } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedsim-fedbuff-instruct-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = createModel('mlp', { inputShape: [12], numClasses: 3 }).spec;
const modelAt = async (store: BlobStore, runId: string, version: number) => decodeModel(await store.get(keys.global(runId, version)), spec);

/** Runs a config twice from scratch and once stopped after round 1 and resumed; all three final models must match. */
async function deterministicAndResumable(store: BlobStore, rt: Awaited<ReturnType<typeof embeddedRuntime>>, config: ReturnType<typeof fedBuffExperiment>, id: string) {
  const rows: RoundRow[] = [];
  const first = await runExperiment(config, { runId: `${id}-a`, store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
  const second = await runExperiment(config, { runId: `${id}-b`, store, transport: rt.transport });
  assert.equal(second.finalModelSha256, first.finalModelSha256, `${id}: two runs, same bytes`);
  let seen = 0;
  await assert.rejects(
    runExperiment(config, {
      runId: `${id}-stop`,
      store,
      transport: rt.transport,
      observer: {
        onRound: () => {
          if (++seen === 2) throw new Error('stop after round 1');
        },
      },
    }),
    /stop after round 1/,
  );
  assert.equal(await store.exists(keys.commit(`${id}-stop`, 2)), false);
  const resumed: RunSummary = await runExperiment(config, { runId: `${id}-stop`, store, transport: rt.transport });
  assert.equal(resumed.finalModelSha256, first.finalModelSha256, `${id}: resumed mid-run, same bytes`);
  return { rows, summary: first };
}

test('FIARSE under FedBuff: each dispatch trains on the submodel of the version it downloaded; deterministic and resumable', async () => {
  const config = fedBuffExperiment({ algorithm: { name: 'fiarse' } });
  const rt = await embeddedRuntime({ root: join(dir, 'fiarse'), workers: 2, backend: 'wasm' });
  try {
    const { rows } = await deterministicAndResumable(rt.store, rt, config, 'fi');
    assert.equal(rows.length, 4);
    // Some client is dispatched from two different versions: each dispatch has its own instruction.
    const versionsOf = new Map<number, Set<number>>();
    for (const a of rows.flatMap((r) => r.virtual!.arrivals!)) versionsOf.set(a.clientId, (versionsOf.get(a.clientId) ?? new Set()).add(a.baseVersion));
    assert.ok([...versionsOf.values()].some((v) => v.size > 1));
    // Hand-checked property of FIARSE's global threshold θ_thr: it is the k-th largest magnitude of
    // the maskable elements of the model it was computed from (k = ⌊β·n⌋): exactly k are ≥ θ_thr and
    // k − 1 are > θ_thr. On the model of another version (here: the current one) it is generally not.
    const rank = (params: Float32Array, thresholds: number[]) => {
      let atLeast = 0;
      let above = 0;
      spec.tensors.forEach((t, i) => {
        const theta = thresholds[i]!;
        if (theta === 0) return;
        for (let j = t.offset; j < t.offset + t.length; j++) {
          const m = Math.abs(params[j]!);
          if (m >= theta) atLeast++;
          if (m > theta) above++;
        }
      });
      return [atLeast, above];
    };
    const unmaskable = (thresholds: number[]) => spec.tensors.reduce((s, t, i) => s + (thresholds[i] === 0 ? t.length : 0), 0);
    let staleChecked = 0;
    for (const [r, row] of rows.entries()) {
      const current = await modelAt(rt.store, 'fi-a', r);
      for (const a of row.virtual!.arrivals!) {
        const instruction = decodeInstruction(await rt.store.get(keys.dispatchInstruction('fi-a', a.baseVersion, a.dispatch)));
        const { beta, thresholds } = instruction.meta as { beta: number; thresholds: number[] };
        if (beta === 1) continue;
        const k = submodelElements(spec, beta, 'global') - unmaskable(thresholds);
        const base = await modelAt(rt.store, 'fi-a', a.baseVersion);
        assert.deepEqual(rank(base, thresholds), [k, k - 1], `dispatch ${a.dispatch}: θ_thr is the k-th magnitude of its base version v${a.baseVersion}`);
        // a version that moved the k-th magnitude tells the two apart (FIARSE leaves elements no client trained unchanged)
        if (a.staleness > 0 && !isDeepStrictEqual(rank(current, thresholds), [k, k - 1])) staleChecked++;
      }
    }
    assert.ok(staleChecked >= 1, 'a stale dispatch whose base and current versions differ at θ_thr');
    // The commit of version v reports what it prepared, keyed by the dispatches that start from v.
    const commit1 = decodeJson(await rt.store.get(keys.commit('fi-a', 0))) as { prepareReports: Record<string, unknown> };
    const fromV1 = rows.flatMap((r) => r.virtual!.arrivals!.filter((a) => a.baseVersion === 1).map((a) => `d${a.dispatch}`));
    assert.deepEqual(Object.keys(commit1.prepareReports).sort(), fromV1.sort());
  } finally {
    await rt.close();
  }
});

test('FedOBP under FedBuff: patches prepared per dispatch from its base version and the state committed with it; deterministic and resumable', async () => {
  const config = fedBuffExperiment({ algorithm: { name: 'fedobp', q: 0.9, ema: true } });
  const rt = await embeddedRuntime({ root: join(dir, 'fedobp'), workers: 2, backend: 'wasm' });
  try {
    const { rows, summary } = await deterministicAndResumable(rt.store, rt, config, 'fo');
    assert.equal(rows.length, 4);
    assert.ok(summary.final && summary.final.results['personalized']!.pooledAccuracy > 0.34);
    for (const row of rows) {
      for (const a of row.virtual!.arrivals!) {
        const instruction = decodeInstruction(await rt.store.get(keys.dispatchInstruction('fo-a', a.baseVersion, a.dispatch)));
        // the patch names the version it was computed from (FedOBP's meta `round` is the model it patches)
        assert.deepEqual([instruction.meta['round'], instruction.meta['clientId']], [a.baseVersion, a.clientId]);
      }
    }
  } finally {
    await rt.close();
  }
});

test('FedOBP under FedBuff, hand-checked: a dispatch patches θ_last as committed with its base version, ranked against that version', async () => {
  // gc off: the test reads the rounds' updates after the run
  const config = fedBuffExperiment({ algorithm: { name: 'fedobp', q: 0.9 }, storage: { gc: 'off' } });
  const rt = await embeddedRuntime({ root: join(dir, 'fedobp-hand'), workers: 2, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    await runExperiment(config, { runId: 'oh', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    // θ_last of a client as of version v: its latest accepted upload (FedOBP uploads its trained model)
    // of a round before v, in arrival order; θ^0 before its first training (firstVisit: init).
    const lastAt = async (clientId: number, version: number) => {
      let key = keys.global('oh', 0);
      for (const [r, row] of rows.entries()) {
        if (r >= version) break;
        for (const a of row.virtual!.arrivals!) if (a.clientId === clientId) key = keys.dispatchUpdate('oh', r, a.dispatch, 1);
      }
      return decodeModel(await rt.store.get(key), spec);
    };
    let checked = 0;
    let staleChecked = 0;
    for (const row of rows) {
      for (const a of row.virtual!.arrivals!) {
        const { indices, values } = patchFromInstruction(
          decodeInstruction(await rt.store.get(keys.dispatchInstruction('oh', a.baseVersion, a.dispatch))),
          spec.size,
        );
        const last = await lastAt(a.clientId, a.baseVersion);
        assert.ok(values.every((x, i) => x === last[indices[i]!]), `dispatch ${a.dispatch}: patch values are θ_last as of v${a.baseVersion}`);
        if (indices.length === 0) continue;
        // OBD score |(θ_last − θ_v)·θ_last|: every patched element outranks every other (min-max normalisation keeps the order)
        const base = await modelAt(rt.store, 'oh', a.baseVersion);
        const score = (j: number) => Math.abs((last[j]! - base[j]!) * last[j]!);
        const patched = new Set(indices);
        let lowIn = Infinity;
        let highOut = 0;
        for (let j = 0; j < spec.size; j++) {
          if (patched.has(j)) lowIn = Math.min(lowIn, score(j));
          else highOut = Math.max(highOut, score(j));
        }
        assert.ok(lowIn >= highOut * (1 - 1e-5), `dispatch ${a.dispatch}: patch ranked against v${a.baseVersion} (${lowIn} < ${highOut})`);
        checked++;
        if (a.staleness > 0) staleChecked++;
      }
    }
    assert.ok(checked >= 2 && staleChecked >= 1, `non-empty patches checked: ${checked}, of stale dispatches: ${staleChecked}`);
  } finally {
    await rt.close();
  }
});

test('HeteroFL under FedBuff (fixed width masks, nothing prepared): two runs, same bytes', async () => {
  const config = fedBuffExperiment({ algorithm: { name: 'heterofl' } });
  const rt = await embeddedRuntime({ root: join(dir, 'heterofl'), workers: 2, backend: 'wasm' });
  try {
    const a = await runExperiment(config, { runId: 'hf-a', store: rt.store, transport: rt.transport });
    const b = await runExperiment(config, { runId: 'hf-b', store: rt.store, transport: rt.transport });
    assert.equal(b.finalModelSha256, a.finalModelSha256);
    assert.notEqual(a.finalModelSha256, createHash('sha256').update(await rt.store.get(keys.global('hf-a', 0))).digest('hex'));
  } finally {
    await rt.close();
  }
});

test('FedOBP under FedBuff: a client arriving twice in one flush keeps its later dispatch\'s θ_last; two runs, same bytes', async () => {
  // The uneven devices of fedbuff.test.ts, where the fastest client comes back within one flush.
  // FedOBP's train job reads no client state, so this is allowed; each dispatch writes its own state.
  // gc off: the test reads every round's state map after the run
  const base = fedBuffExperiment({ algorithm: { name: 'fedobp', q: 0.9 }, storage: { gc: 'off' } });
  const devices = {
    kind: 'sampled',
    computeSamplesPerSecond: { kind: 'lognormal', median: 50, sigma: 1 },
    downBytesPerSecond: { kind: 'fixed', value: 1e8 },
    upBytesPerSecond: { kind: 'fixed', value: 1e8 },
  };
  const config = { ...base, system: { ...base.system!, devices, mode: { ...base.system!.mode, bufferSize: 3, maxStaleness: 2 } } } as typeof base;
  const rt = await embeddedRuntime({ root: join(dir, 'fedobp-twice'), workers: 2, backend: 'wasm' });
  try {
    const rows: RoundRow[] = [];
    const a = await runExperiment(config, { runId: 'ot-a', store: rt.store, transport: rt.transport, observer: { onRound: (r) => void rows.push(r) } });
    const b = await runExperiment(config, { runId: 'ot-b', store: rt.store, transport: rt.transport });
    assert.equal(b.finalModelSha256, a.finalModelSha256);
    let twice = 0;
    for (const [r, row] of rows.entries()) {
      const latest = new Map(row.virtual!.arrivals!.map((x) => [x.clientId, x.dispatch]));
      const refs = await committedStateRefs(rt.store, 'ot-a', r, latest.keys());
      for (const [clientId, dispatch] of latest) {
        assert.equal(refs.get(clientId)?.['last']?.key, keys.dispatchState('ot-a', r, dispatch, 1), `round ${r}, client ${clientId}`);
      }
      if (latest.size < row.virtual!.arrivals!.length) twice++;
    }
    assert.ok(twice > 0, 'some client arrived twice in one flush');
  } finally {
    await rt.close();
  }
});
