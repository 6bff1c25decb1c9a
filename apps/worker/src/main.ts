#!/usr/bin/env node
import { ConfigError, ObservabilityConfigError } from '@fedsim/runtime';
import { maskSecrets } from '@fedsim/runtime/adapters';
import { runWorkerProcess } from './worker-process.js';

runWorkerProcess().catch((err: unknown) => {
  console.error(maskSecrets(`fedsim-worker: ${err instanceof Error ? err.message : String(err)}`));
  // like fedsim: 2 for bad configuration, 1 for anything else
  process.exit(err instanceof ConfigError || err instanceof ObservabilityConfigError ? 2 : 1);
});
