#!/usr/bin/env node
import { maskSecrets } from '@fedsim/runtime/adapters/index';
import { runWorkerProcess } from './worker-process.js';

runWorkerProcess().catch((err: unknown) => {
  console.error(maskSecrets(`fedsim-worker: ${err instanceof Error ? err.message : String(err)}`));
  process.exit(1);
});
