'use strict';
// Loads the compiled addon; throws a message saying how to build it when it is absent.
const fs = require('node:fs');
const path = require('node:path');
const { isMainThread } = require('node:worker_threads');

/**
 * OpenBLAS picks its kernels when it loads: from OPENBLAS_CORETYPE if set, else from the CPU
 * model. Kernel choice changes the rounding, so for bit-reproducible models every worker must use
 * the same one. Precedence here:
 *   FEDSIM_OPENBLAS_CORETYPE=<name>  use that core (e.g. SkylakeX, Haswell)
 *   FEDSIM_OPENBLAS_CORETYPE=auto    choose from the CPU flags, ignoring OPENBLAS_CORETYPE
 *   OPENBLAS_CORETYPE=<name>         the machine's own pin, respected
 *   neither                          choose from the CPU flags
 * Choosing from the flags matters because Debian's 0.3.21 does not know recent AMD cores and
 * would use its AVX2 kernels on AVX-512 CPUs (~1.7× slower on the conv layers here).
 */
function chooseCoreType() {
  const wanted = process.env.FEDSIM_OPENBLAS_CORETYPE;
  if (wanted && wanted !== 'auto') {
    process.env.OPENBLAS_CORETYPE = wanted;
    return;
  }
  if (!wanted && process.env.OPENBLAS_CORETYPE) return;
  let flags = '';
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = line ? ` ${line.split(':')[1]} ` : '';
  } catch {
    return;
  }
  const has = (f) => flags.includes(` ${f} `);
  if (['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every(has)) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (['avx2', 'fma'].every(has)) process.env.OPENBLAS_CORETYPE = 'Haswell';
  else delete process.env.OPENBLAS_CORETYPE;
}

const built = path.join(__dirname, 'build', 'Release', 'fedsim_native_kernels.node');
if (!fs.existsSync(built)) {
  throw new Error(
    `@fedsim/native-kernels: the addon is not built (${built}); install libopenblas-dev, then run ` +
      '`npm run build:native -w @fedsim/native-kernels`',
  );
}
// OpenBLAS reads its settings from the environment once, when it loads; set them for that moment
// only, so processes this one spawns keep the caller's environment.
const saved = {
  OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE,
  OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS,
  OMP_NUM_THREADS: process.env.OMP_NUM_THREADS,
};
const convEngine = process.env.FEDSIM_NATIVE_CONV ?? 'onednn';
if (convEngine !== 'onednn' && convEngine !== 'im2col') {
  throw new Error(`env FEDSIM_NATIVE_CONV: expected 'onednn' or 'im2col', got '${convEngine}'`);
}
chooseCoreType();
// The addon runs sgemm on one thread (one worker process per core is how fedsim scales). Without
// this OpenBLAS still starts a pool of idle threads whose wake-ups cost a pair of processes on two
// cores about a quarter of their throughput on the MLP.
process.env.OPENBLAS_NUM_THREADS = '1';
// oneDNN (when compiled in) runs on OpenMP, whose team size is read once, when libgomp loads:
// one thread, for the same reasons, and so that its reductions have one fixed order.
process.env.OMP_NUM_THREADS = '1';
// In a worker thread process.env is a private copy: OpenBLAS and libgomp, which read getenv()
// when the first thread of the process loads them, would not see the settings above, and
// OpenBLAS would pick its kernels from the CPU model (Prescott's SSE3 ones on CPUs 0.3.21 does
// not know): slower, other rounding than the same run in worker processes, and an extra thread.
// The helper addon sets the real environment for the moment of loading.
const realEnv = isMainThread ? undefined : require(path.join(__dirname, 'build', 'Release', 'fedsim_env.node'));
const realSaved = new Map();
if (realEnv) for (const k of Object.keys(saved)) realSaved.set(k, realEnv.swapEnv(k, process.env[k] ?? null));
try {
  module.exports = require(built);
  // oneDNN convolutions when the addon was built with them (libdnnl-dev present), unless
  // FEDSIM_NATIVE_CONV=im2col asks for the OpenBLAS im2col path (different rounding).
  module.exports.setConvEngine(convEngine === 'onednn');
} catch (e) {
  throw new Error(`@fedsim/native-kernels: cannot load ${built}: ${e && e.message ? e.message : e}`);
} finally {
  for (const [k, v] of realSaved) realEnv.swapEnv(k, v);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
