import { Worker } from 'node:worker_threads';
console.log('main execArgv', process.execArgv, 'NODE_OPTIONS', process.env.NODE_OPTIONS);
const w = new Worker(new URL('./wt.ts', import.meta.url));
w.on('message', (m) => { console.log('msg', m); w.terminate(); });
w.on('error', (e) => console.log('err', e.message));
