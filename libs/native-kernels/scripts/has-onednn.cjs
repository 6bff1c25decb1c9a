'use strict';
// Prints 1 when oneDNN (libdnnl-dev) is installed, else 0; binding.gyp compiles the oneDNN
// convolutions only then, so the addon still builds with OpenBLAS alone.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const header = ['/usr/include/oneapi/dnnl/dnnl.h', '/usr/local/include/oneapi/dnnl/dnnl.h'].some((h) => fs.existsSync(h));
const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
const lib = ldconfig.status === 0 && /libdnnl\.so\s/.test(ldconfig.stdout);
process.stdout.write(header && lib && process.env.FEDSIM_NO_ONEDNN !== '1' ? '1' : '0');
