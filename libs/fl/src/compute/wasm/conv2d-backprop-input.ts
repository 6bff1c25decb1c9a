import * as tf from '@tensorflow/tfjs-core';
import { asWasm, input, release, type KernelArgs, type StockKernels } from './kernel-util.js';
import { matMulPlain } from './batch-matmul.js';
import { col2im } from './conv-im2col.js';

/**
 * dx = col2im(dy · Wᵀ): one plain XNNPACK matmul ([B·OH·OW, O] × [O, KH·KW·C]) and a scatter-add.
 * The package's own kernel is a direct loop several times slower; the alternative of a forward
 * conv over the zero-padded dy with the rotated filter spends over half its work on the padding.
 */
export function makeConv2DBackpropInput(stock: StockKernels): tf.KernelFunc {
  return (args: KernelArgs) => {
    const backend = asWasm(args.backend);
    const attrs = args.attrs ?? {};
    const dy = input(args, 'dy');
    const filter = input(args, 'filter');
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
    if (format !== 'channelsLast') return stock.run('Conv2DBackpropInput', backend, args.inputs, attrs);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format,
    );
    const { batchSize, outHeight, outWidth, outChannels, inChannels, filterHeight, filterWidth } = info;
    const w2 = stock.run('Reshape', backend, { x: filter }, { shape: [filterHeight * filterWidth * inChannels, outChannels] });
    const wT = stock.run('Transpose', backend, { x: w2 }, { perm: [1, 0] });
    release(backend, w2);
    const dy2 = stock.run('Reshape', backend, { x: dy }, { shape: [batchSize * outHeight * outWidth, outChannels] });
    const cols = matMulPlain(stock, backend, dy2, wT);
    release(backend, wT, dy2);
    const dx = col2im(backend, cols, info);
    release(backend, cols);
    return dx;
  };
}
