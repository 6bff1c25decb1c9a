'use strict';
// npm "install" hook: builds the addon only where OpenBLAS and its headers are present, and
// never fails the install (the wasm backend is the working default without it).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const headers = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'];
const hasHeader = headers.some((h) => fs.existsSync(h));
const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
const hasLib = ldconfig.status === 0 && /libopenblas\.so\b/.test(ldconfig.stdout);
if (!hasHeader || !hasLib) {
  console.log('@fedsim/native-kernels: OpenBLAS (libopenblas-dev) not found; skipping the optional native build');
  process.exit(0);
}
const r = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', cwd: __dirname + '/..', shell: process.platform === 'win32' });
if (r.status !== 0) console.log('@fedsim/native-kernels: native build failed; the wasm backend will be used instead');
process.exit(0);
