/**
 * What a run's store holds as rounds go by, with per-client server-side state (Ditto's v_i; on
 * logreg 68 floats per client): per round, the bytes of the client → state-location map written
 * (the blocks of the clients that changed) next to the single JSON index over all clients that
 * the engine rewrote every round before state was packed (reconstructed from the same refs); the
 * blobs and bytes under the run's rounds/ (what gc looks at); the time to locate one client's
 * state; coordinator RSS. Then `fedsim gc`'s collection: blobs and bytes before and after.
 *
 *   npm run bench:storage -- [--cells 1000x100,10000x1000,100000x1000] [--rounds 4] [--slots 2] [--model logreg|mlp]
 *
 * Embedded (the layout does not depend on the transport); each cell in its own process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BlobStore } from '@fedsim/runtime';
import { collectGarbage, keys, parseExperiment, runExperiment } from '@fedsim/runtime';
import { committedStateRefs, encodeJson, stateRefsFor } from '@fedsim/runtime/engine';
import { embeddedRuntime } from '@fedsim/runtime/wiring';
import { sourceNodeArgs } from '../test/integration/fixtures.js';

const { values } = parseArgs({
  options: {
    cells: { type: 'string', default: '1000x100,10000x1000,100000x1000' },
    rounds: { type: 'string', default: '4' },
    slots: { type: 'string', default: '2' },
    model: { type: 'string', default: 'logreg' },
    /** internal: run one cell (`N:K`) and print its result as JSON */
    cell: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const slots = Number(values.slots);
const model = values.model;
if (model !== 'logreg' && model !== 'mlp') throw new Error(`--model: '${model}' is neither logreg nor mlp`);

interface RoundFigures {
  readonly round: number;
  readonly succeeded: number;
  readonly failed: string;
  readonly clientsWithState: number;
  /** location blocks this round wrote, and their bytes */
  readonly blocksWritten: number;
  readonly blockBytes: number;
  /** the pre-pack engine's state-index.json for the same refs (rewritten whole every round) */
  readonly legacyIndexBytes: number;
  readonly storeBlobs: number;
  readonly storeBytes: number;
  readonly lookupMs: number;
  readonly rssMiB: number;
}
interface CellFigures {
  readonly numClients: number;
  readonly perRound: number;
  readonly rounds: readonly RoundFigures[];
  readonly gc: { readonly blobsBefore: number; readonly bytesBefore: number; readonly deleted: number; readonly freed: number; readonly seconds: number };
  readonly peakRssMiB: number;
}

class Stop extends Error {}

const MiB = 2 ** 20;
const sizeOf = async (store: BlobStore, prefix: string) => {
  const all = await store.listSized(prefix);
  return { blobs: all.length, bytes: all.reduce((s, k) => s + k.bytes, 0) };
};

async function runCell(numClients: number, perRound: number): Promise<CellFigures> {
  const config = parseExperiment({
    name: 'bench-storage',
    seed: 7,
    data: { kind: 'synthetic', numSamples: numClients * 30, featureShape: [16], numClasses: 4 },
    partition: { kind: 'iid', numClients, testRatio: 0.25 },
    model,
    algorithm: { name: 'ditto' },
    // one more round than measured: the engine evaluates all N clients after the last round
    rounds: rounds + 1,
    joinRatio: perRound / numClients,
    train: { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5 },
    eval: { every: 1000 },
    failures: { attempts: 1, roundDeadlineSeconds: 3600 },
    storage: { gc: 'off' },
  });
  const dir = await mkdtemp(join(tmpdir(), 'fedsim-bench-storage-'));
  const rt = await embeddedRuntime({ root: dir, workers: slots, backend: 'auto' });
  const runId = 'storage';
  const figures: RoundFigures[] = [];
  try {
    await runExperiment(config, {
      runId,
      store: rt.store,
      transport: rt.transport,
      observer: {
        async onRound(row) {
          const t = row.round;
          const blocks = await sizeOf(rt.store, `${keys.roundPrefix(runId, t)}state-shards/`);
          const refs = await committedStateRefs(rt.store, runId, t);
          const legacy: Record<string, Record<string, string>> = {};
          for (const [id, r] of refs) legacy[String(id)] = Object.fromEntries(Object.entries(r).map(([e, ref]) => [e, ref.key]));
          const total = await sizeOf(rt.store, keys.roundsPrefix(runId));
          const commit = JSON.parse(Buffer.from(await rt.store.get(keys.commit(runId, t))).toString('utf8')) as { stateShards: (number | null)[] };
          const one = [...refs.keys()][Math.floor(refs.size / 2)] ?? 0;
          const started = performance.now();
          await stateRefsFor(rt.store, runId, commit.stateShards, [one]);
          const lookupMs = performance.now() - started;
          figures.push({
            round: t, succeeded: row.succeeded, failed: [...new Set(row.failures.map((f) => `${f.code}: ${f.detail}`))].slice(0, 3).join(' | '), clientsWithState: refs.size, blocksWritten: blocks.blobs, blockBytes: blocks.bytes,
            legacyIndexBytes: encodeJson(legacy).byteLength, storeBlobs: total.blobs, storeBytes: total.bytes,
            lookupMs, rssMiB: process.memoryUsage().rss / MiB,
          });
          if (t === rounds - 1) throw new Stop();
        },
      },
    });
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  try {
    const before = await sizeOf(rt.store, keys.roundsPrefix(runId));
    const started = performance.now();
    const gc = await collectGarbage(rt.store, runId, { keepGlobalModels: 1 });
    return {
      numClients, perRound, rounds: figures,
      gc: { blobsBefore: before.blobs, bytesBefore: before.bytes, deleted: gc.deleted.length, freed: gc.bytesFreed, seconds: (performance.now() - started) / 1000 },
      peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
    };
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (values.cell) {
  const [n, k] = values.cell.split(':').map(Number);
  console.log(`CELL ${JSON.stringify(await runCell(n!, k!))}`);
  process.exit(0);
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
console.log(`bench:storage: Ditto on ${model}, embedded, ${slots} slots, ${rounds} rounds, gc off then fedsim gc (keep 1 global); store = the run's rounds/`);
console.log('| N | K | round | succeeded | clients with state | blocks written | block bytes | pre-pack index bytes | store blobs | store MiB | locate 1 client ms | RSS MiB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const gcLines: string[] = [];
for (const cell of values.cells.split(',')) {
  const [n, k] = cell.split('x').map(Number);
  const out = await runChild(`${n}:${k}`);
  for (const r of out.rounds) {
    if (r.failed) console.error(`N=${n} K=${k} round ${r.round}: ${k! - r.succeeded} failed: ${r.failed}`);
    console.log(`| ${n} | ${k} | ${r.round} | ${r.succeeded} | ${r.clientsWithState} | ${r.blocksWritten} | ${kib(r.blockBytes)} | ${kib(r.legacyIndexBytes)} | ${r.storeBlobs} | ${(r.storeBytes / MiB).toFixed(2)} | ${r.lookupMs.toFixed(1)} | ${r.rssMiB.toFixed(0)} |`);
  }
  gcLines.push(`| ${n} | ${k} | ${out.gc.blobsBefore} | ${(out.gc.bytesBefore / MiB).toFixed(2)} | ${out.gc.blobsBefore - out.gc.deleted} | ${((out.gc.bytesBefore - out.gc.freed) / MiB).toFixed(2)} | ${out.gc.seconds.toFixed(2)} | ${out.peakRssMiB.toFixed(0)} |`);
}
console.log(`\nfedsim gc after ${rounds} rounds:`);
console.log('| N | K | blobs before | MiB before | blobs after | MiB after | gc s | peak RSS MiB |');
console.log('|---|---|---|---|---|---|---|---|');
for (const l of gcLines) console.log(l);

function runChild(cell: string): Promise<CellFigures> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [...sourceNodeArgs, script, '--cell', cell, '--rounds', String(rounds), '--slots', String(slots), '--model', model], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('CELL '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(5)) as CellFigures);
      else reject(new Error(`cell ${cell} exited with ${code}:\n${out.slice(-2000)}`));
    });
  });
}
