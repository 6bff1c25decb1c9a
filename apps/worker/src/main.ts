#!/usr/bin/env node
import { runWorkerProcess } from './worker-process.js';

runWorkerProcess().catch((err: unknown) => {
  console.error(`fedsim-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
