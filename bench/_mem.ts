const rss = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const ext = () => { const m = process.memoryUsage(); return `heap ${(m.heapUsed/2**20).toFixed(0)} ext ${(m.external/2**20).toFixed(0)} ab ${(m.arrayBuffers/2**20).toFixed(0)}`; };
console.log('start', rss(), ext());
const tf = await import('@tensorflow/tfjs-core');
console.log('tfjs-core', rss(), ext());
const { initCompute } = await import('@fedsim/fl/compute');
console.log('compute module', rss(), ext());
await initCompute({ prefer: (process.env.B ?? 'wasm-blas') as never, log: () => {} });
console.log('initCompute', rss(), ext(), (tf.backend() as any).wasm.HEAPU8.length / 2 ** 20);
const { createModel } = await import('@fedsim/fl/models');
const { trainLocal } = await import('@fedsim/fl/train');
console.log('imports', rss(), ext());
const def = createModel(process.env.M as never ?? 'fedavgcnn');
if (process.env.GC) (globalThis as any).gc();
const n = 600;
const data = { x: new Float32Array(n * 784).map((_, i) => Math.sin(i)), y: new Int32Array(n).map((_, i) => i % 10), n, featureShape: [28, 28, 1] };
for (let k = 0; k < 3; k++) {
  await trainLocal(def, def.init(1), data, { sgd: { lr: 0.005, momentum: 0, weightDecay: 0 }, batchSize: 10, epochs: 1, seed: 1 });
  if (process.env.GC) (globalThis as any).gc();
  console.log('trained', rss(), ext(), (tf.backend() as any).wasm.HEAPU8.length / 2 ** 20, 'maxrss', (process.resourceUsage().maxRSS / 1024).toFixed(0));
}
