import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Taking gradients registers tfjs's gradient functions without loading the umbrella package's
 * layers, converter, data and WebGL code (tens of MB per compute thread). A fresh process: the
 * test runner's own may have loaded them already.
 */
test('importing the training loop registers the gradients but loads none of tfjs-layers/converter/data/webgl', () => {
  const train = fileURLToPath(new URL('../../src/train/index.ts', import.meta.url));
  const script = `
    const tf = await import('@tensorflow/tfjs-core');
    await import(${JSON.stringify(train)});
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    const heavy = ['tfjs-layers', 'tfjs-converter', 'tfjs-data', 'tfjs-backend-webgl'].filter((p) => loaded.some((f) => f.includes('/@tensorflow/' + p + '/')));
    await tf.setBackend('cpu');
    const g = tf.grad((x) => tf.sum(tf.div(tf.mul(x, x), tf.scalar(2))))(tf.tensor([1, 2, 3]));
    console.log(JSON.stringify({ heavy, grad: Array.from(g.dataSync()) }));`;
  const r = spawnSync(process.execPath, ['--conditions=fedsim-source', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { heavy: string[]; grad: number[] };
  assert.deepEqual(out, { heavy: [], grad: [1, 2, 3] });
});
