import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
test('x', async () => {
  console.log('main execArgv', process.execArgv, 'NODE_OPTIONS', process.env.NODE_OPTIONS);
  await new Promise<void>((resolve) => {
    const w = new Worker(new URL('./wt.ts', import.meta.url));
    w.on('message', (m) => { console.log('msg', m); void w.terminate(); resolve(); });
    w.on('error', (e) => { console.log('err', e.message); resolve(); });
  });
});
