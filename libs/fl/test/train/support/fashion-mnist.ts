import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ClientData } from '../../../src/data/types.js';

/** Where the Debian package `dataset-fashion-mnist` installs the files; FEDSIM_FMNIST_DIR overrides. */
const DIR = process.env.FEDSIM_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const MEAN = 0.286;
const STD = 0.3205;

/** Reads a gzip'd IDX file of unsigned bytes: returns its dimensions and elements. */
function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const path = join(DIR, file);
  if (!existsSync(path)) {
    throw new Error(
      `Fashion-MNIST file ${path} is missing: install it with \`apt-get install dataset-fashion-mnist\` ` +
        `or point FEDSIM_FMNIST_DIR at a directory holding ${file}`,
    );
  }
  const raw = gunzipSync(readFileSync(path));
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) throw new Error(`${path}: not an unsigned-byte IDX file`);
  const ndims = raw[3]!;
  const dims = Array.from({ length: ndims }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndims;
  if (raw.length - start !== size) throw new Error(`${path}: expected ${size} data bytes, found ${raw.length - start}`);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + start, size) };
}

/** Samples [from, from + count) of a split, normalised as docs/specs/protocol.md says, 28×28×1 each. */
export function fashionMnist(split: 'train' | 't10k', from: number, count: number): ClientData {
  const images = readIdx(`${split}-images-idx3-ubyte.gz`);
  const labels = readIdx(`${split}-labels-idx1-ubyte.gz`);
  const [total, rows, cols] = images.dims as [number, number, number];
  if (from + count > total) throw new Error(`fashionMnist: ${split} has ${total} samples, asked for ${from}..${from + count}`);
  const f = rows * cols;
  const x = new Float32Array(count * f);
  const px = images.data.subarray(from * f, (from + count) * f);
  for (let i = 0; i < px.length; i++) x[i] = (px[i]! / 255 - MEAN) / STD;
  const y = Int32Array.from(labels.data.subarray(from, from + count));
  return { x, y, n: count, featureShape: [rows, cols, 1] };
}
