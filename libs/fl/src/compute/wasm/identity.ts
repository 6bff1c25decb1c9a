import type * as tf from '@tensorflow/tfjs-core';
import { asWasm, input, type KernelArgs } from './kernel-util.js';

/**
 * Identity and same-dtype Cast as new references to the same data (tensors are immutable, and
 * the backend reference-counts data as it already does for Reshape). The package copies the
 * whole buffer instead, and the ReLU gradient alone (dy · cast(step(x))) pays for one such copy
 * of every activation per step.
 */
function shareData(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export function identity(args: KernelArgs): tf.TensorInfo {
  if (input(args, 'x').dtype === 'string') throw new Error('wasm Identity: string tensors are not supported');
  return shareData(args);
}

export function makeCast(stockCast: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const x = input(args, 'x');
    if (args.attrs?.['dtype'] === x.dtype && x.dtype !== 'string') return shareData(args);
    return stockCast(args);
  };
}
