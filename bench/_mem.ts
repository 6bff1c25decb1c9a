import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadPoolHandlers } from '@fedsim/runtime/pool/index';
import { workerThreadEntry } from '@fedsim/runtime/wiring/worker-thread-entry';
const r = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const n = Number(process.argv[2]);
console.log('start', r());
if (process.argv[3] === 'data') { const { loadDataset } = await import('@fedsim/runtime/data/index'); await loadDataset({ kind: 'fashion-mnist' }); console.log('main data', r(), 'peak', Math.round(process.resourceUsage().maxRSS / 1024)); }
const dir = await mkdtemp(join(tmpdir(), 'm-'));
const pool = new ThreadPoolHandlers({ entry: workerThreadEntry(), size: n, workerData: { store: { kind: 'dir', root: dir }, backend: 'auto' } });
await pool.ready();
console.log('threads ready', r(), 'peak', Math.round(process.resourceUsage().maxRSS / 1024));
await pool.close();
