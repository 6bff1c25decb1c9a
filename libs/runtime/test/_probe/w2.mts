import { Worker } from 'node:worker_threads';
const tsxHref = import.meta.resolve('tsx');
console.log('tsx at', tsxHref);
const boot = `
const { workerData } = require('node:worker_threads');
(async () => { if (workerData.tsx) await import(workerData.tsx); await import(workerData.main); })();
`;
const w = new Worker(boot, { eval: true, workerData: { tsx: tsxHref, main: new URL('./wt2.ts', import.meta.url).href } });
w.on('message', (m) => { console.log('msg', m); w.terminate(); });
w.on('error', (e) => console.log('err', e.message));
