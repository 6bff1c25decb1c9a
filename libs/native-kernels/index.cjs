'use strict';
// Loads the compiled addon; throws a message saying how to build it when it is absent.
const path = require('node:path');

const built = path.join(__dirname, 'build', 'Release', 'fedsim_native_kernels.node');
try {
  module.exports = require(built);
} catch (e) {
  const reason = e && e.code === 'MODULE_NOT_FOUND' ? 'the addon is not built' : String(e && e.message ? e.message : e);
  throw new Error(
    `@fedsim/native-kernels: ${reason} (${built}); install libopenblas-dev, then run ` +
      '`npm run build:native -w @fedsim/native-kernels`',
  );
}
