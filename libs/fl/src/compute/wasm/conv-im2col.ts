import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapF32, type TensorInfo } from './kernel-util.js';

/**
 * Patch matrix, transposed: rows (p, q, c) of the filter window, columns (b, i, j) of the output
 * positions; out-of-image taps are zero. dW = patchesᵀ · dy then is one plain matmul.
 */
export function im2colTransposed(backend: BackendWasm, x: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, padInfo } = info;
  const cols = B * OH * OW;
  const out = backend.makeOutput([KH * KW * C, cols], 'float32');
  const m = heapF32(backend, out);
  const xv = heapF32(backend, x);
  for (let p = 0; p < KH; p++) {
    for (let q = 0; q < KW; q++) {
      for (let c = 0; c < C; c++) {
        let o = ((p * KW + q) * C + c) * cols;
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < OH; i++) {
            const r = i * SH + p - padInfo.top;
            if (r < 0 || r >= H) {
              m.fill(0, o, o + OW);
              o += OW;
              continue;
            }
            const rowOff = (b * H + r) * W;
            for (let j = 0; j < OW; j++) {
              const s = j * SW + q - padInfo.left;
              m[o++] = s >= 0 && s < W ? xv[(rowOff + s) * C + c]! : 0;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Scatter-adds columns (b,i,j) × (p,q,c) back onto the image: the adjoint of im2col, which turns
 * dy·Wᵀ into dx. Accumulation order is fixed, so the result is deterministic.
 */
export function col2im(backend: BackendWasm, colsT: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, padInfo } = info;
  const out = backend.makeOutput([B, H, W, C], 'float32');
  const dx = heapF32(backend, out);
  const m = heapF32(backend, colsT);
  dx.fill(0);
  const rowLen = KH * KW * C;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let o = ((b * OH + i) * OW + j) * rowLen;
        for (let p = 0; p < KH; p++) {
          const r = i * SH + p - padInfo.top;
          if (r < 0 || r >= H) {
            o += KW * C;
            continue;
          }
          for (let q = 0; q < KW; q++) {
            const s = j * SW + q - padInfo.left;
            if (s < 0 || s >= W) {
              o += C;
              continue;
            }
            const d = ((b * H + r) * W + s) * C;
            for (let c = 0; c < C; c++) dx[d + c]! += m[o++]!;
          }
        }
      }
    }
  }
  return out;
}
