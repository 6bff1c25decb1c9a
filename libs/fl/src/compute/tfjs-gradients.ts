import * as tf from '@tensorflow/tfjs-core';
import { createRequire, Module } from 'node:module';

/** What the umbrella bundle requires but training never uses: layers, converter, data, WebGL. */
const UNUSED_BY_TRAINING = ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'];

const require = createRequire(import.meta.url);

/**
 * tfjs-core defines its gradients but registers them only in its ESM sources, whose extensionless
 * imports Node cannot load; the umbrella package's Node bundle registers every gradient on the
 * same (shared, global) tfjs-core engine when it loads, and also registers the cpu backend. It
 * is loaded here with empty modules in the require cache in place of the packages above, which
 * it only re-exports: loading them would cost every compute thread ~60 MB of JS heap (~80 MB RSS
 * under tsx) for code that never runs. Idempotent; callers still pick a backend explicitly.
 */
export function registerTfjsGradients(): void {
  if (tf.getGradient('Conv2D') && tf.getGradient('RealDiv')) return;
  const umbrella = require.resolve('@tensorflow/tfjs');
  const fromUmbrella = createRequire(umbrella);
  const stubbed: string[] = [];
  for (const pkg of UNUSED_BY_TRAINING) {
    let path: string;
    try {
      path = fromUmbrella.resolve(pkg);
    } catch {
      continue;
    }
    if (require.cache[path]) continue;
    const stub = new Module(path);
    stub.filename = path;
    stub.loaded = true;
    require.cache[path] = stub;
    stubbed.push(path);
  }
  try {
    require(umbrella);
  } finally {
    // later imports of these packages (if any) load the real ones
    for (const path of stubbed) delete require.cache[path];
  }
  if (!tf.getGradient('Conv2D')) throw new Error(`loading ${umbrella} did not register the tfjs gradient functions`);
}
