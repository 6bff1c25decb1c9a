import * as tf from '@tensorflow/tfjs-core';

/** One kernel invocation as the shipped models' training step issues it. */
export interface KernelCase {
  readonly label: string;
  readonly kernel: string;
  /** builds the inputs (kept alive across repetitions) and the attrs */
  setup(): { inputs: tf.NamedTensorMap; attrs: tf.NamedAttrMap };
}

const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

function mm(label: string, aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): KernelCase {
  return {
    label,
    kernel: 'BatchMatMul',
    setup: () => ({ inputs: { a: r(aShape, 1), b: r(bShape, 2) }, attrs: { transposeA, transposeB } }),
  };
}

function conv(label: string, kernel: string, x: number[], f: number[]): KernelCase {
  const [b, h, w] = x as [number, number, number, number];
  const [kh, kw, , o] = f as [number, number, number, number];
  const dy = [b, h - kh + 1, w - kw + 1, o];
  const common: tf.NamedAttrMap = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: 'floor' };
  return {
    label,
    kernel,
    setup: (): { inputs: tf.NamedTensorMap; attrs: tf.NamedAttrMap } => {
      switch (kernel) {
        case 'Conv2D':
          return { inputs: { x: r(x, 1), filter: r(f, 2) }, attrs: { ...common, dilations: [1, 1] } };
        case 'Conv2DBackpropFilter':
          return { inputs: { x: r(x, 1), dy: r(dy, 2) }, attrs: { ...common, filterShape: f } };
        case 'Conv2DBackpropInput':
          return { inputs: { dy: r(dy, 1), filter: r(f, 2) }, attrs: { ...common, inputShape: x } };
        default:
          throw new Error(`unknown conv kernel ${kernel}`);
      }
    },
  };
}

function maxPoolGrad(label: string, x: number[]): KernelCase {
  const [b, h, w, c] = x as [number, number, number, number];
  return {
    label,
    kernel: 'MaxPoolGrad',
    setup: () => {
      const input = r(x, 1);
      const output = tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid');
      return {
        inputs: { dy: r([b, h / 2, w / 2, c], 2), input, output },
        attrs: { filterSize: [2, 2], strides: [2, 2], pad: 'valid', dimRoundingMode: 'floor' },
      };
    },
  };
}

/** FedAvgCNN and MLP at batch 32: every heavy kernel of one training step. */
export const KERNEL_CASES: readonly KernelCase[] = [
  conv('cnn conv1 forward', 'Conv2D', [32, 28, 28, 1], [5, 5, 1, 32]),
  conv('cnn conv2 forward', 'Conv2D', [32, 12, 12, 32], [5, 5, 32, 64]),
  conv('cnn conv1 dW', 'Conv2DBackpropFilter', [32, 28, 28, 1], [5, 5, 1, 32]),
  conv('cnn conv2 dW', 'Conv2DBackpropFilter', [32, 12, 12, 32], [5, 5, 32, 64]),
  conv('cnn conv2 dx', 'Conv2DBackpropInput', [32, 12, 12, 32], [5, 5, 32, 64]),
  maxPoolGrad('cnn pool1 grad', [32, 24, 24, 32]),
  maxPoolGrad('cnn pool2 grad', [32, 8, 8, 64]),
  mm('cnn fc1 forward  x·W', [32, 1024], [1024, 512], false, false),
  mm('cnn fc1 dW  xᵀ·dy', [32, 1024], [32, 512], true, false),
  mm('cnn fc1 dx  dy·Wᵀ', [32, 512], [1024, 512], false, true),
  mm('mlp fc1 forward', [32, 784], [784, 200], false, false),
  mm('mlp fc1 dW  xᵀ·dy', [32, 784], [32, 200], true, false),
  mm('mlp fc2 dx  dy·Wᵀ', [32, 200], [200, 200], false, true),
];

export interface KernelTiming {
  /** median over rounds of the mean ms per call */
  readonly medianMs: number;
  /** best round: the least disturbed by other processes on a shared machine */
  readonly minMs: number;
}

/**
 * Times `rounds` rounds of repeated calls (each at least `totalMs / rounds` long) after a warm-up;
 * per round the mean per call, then the median and the best round.
 */
export async function timeKernel(c: KernelCase, totalMs: number, rounds = 7): Promise<KernelTiming> {
  const { inputs, attrs } = c.setup();
  const synchronous = tf.getBackend() === 'wasm';
  const once = () => {
    const out = tf.engine().runKernel(c.kernel, inputs, attrs) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    // wasm kernels run synchronously; other backends may queue work, so wait for the result there
    // (reading wasm output would add a copy of it to every timing)
    if (!synchronous) outs[0]!.dataSync();
    tf.dispose(outs);
  };
  for (let i = 0; i < 3; i++) once();
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < totalMs / rounds || n < 2) {
      once();
      n++;
    }
    perRound.push((performance.now() - t0) / n);
  }
  tf.dispose(Object.values(inputs));
  perRound.sort((a, b) => a - b);
  return { medianMs: perRound[Math.floor(rounds / 2)]!, minMs: perRound[0]! };
}
