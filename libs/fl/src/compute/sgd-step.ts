import * as tf from '@tensorflow/tfjs-core';

/**
 * One torch.optim.SGD update of one tensor as a single kernel (TorchSgd's maths, no dampening or
 * Nesterov): g ← ∇ + wd·p;  buf ← momentum·buf + g (g on the first step);  p ← p − lr·buf.
 * Every operation rounds to float32 as the unfused tensor ops do (lr, momentum and wd are
 * float32 scalars there too), so results are bit-identical to them; a training step then costs
 * one kernel per tensor instead of four or five, which matters for small models.
 */
export const SGD_STEP = 'FedsimSgdStep';
/** Several tensors' steps in one engine call (same per-tensor kernel, so the same bits). */
export const SGD_STEP_ALL = 'FedsimSgdStepAll';

export interface SgdStepOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface SgdStepResult {
  readonly param: tf.Tensor;
  /** the new momentum buffer; undefined without momentum */
  readonly buf: tf.Tensor | undefined;
}

/** Element loop with float32 rounding after each operation (exact for +, −, ×: see Figueroa 1995). */
export function sgdStepArrays(
  p: Float32Array, grad: Float32Array, buf: Float32Array | null, outP: Float32Array, outBuf: Float32Array | null,
  o: SgdStepOptions,
): void {
  const f = Math.fround;
  const lr = f(o.lr);
  const m = f(o.momentum);
  const wd = f(o.weightDecay);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]!;
    if (wd !== 0) g = f(g + f(p[i]! * wd));
    let d = g;
    if (outBuf) {
      if (buf) d = f(f(buf[i]! * m) + g);
      outBuf[i] = d;
    }
    outP[i] = f(p[i]! - f(d * lr));
  }
}

function checkShapes(param: tf.Tensor, grad: tf.Tensor, buf: tf.Tensor | undefined): void {
  const same = (a: tf.Tensor, b: tf.Tensor) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!same(param, grad)) throw new Error(`sgdStep: gradient shape [${grad.shape.join(', ')}] ≠ parameter shape [${param.shape.join(', ')}]`);
  if (buf && !same(param, buf)) throw new Error(`sgdStep: momentum buffer shape [${buf.shape.join(', ')}] ≠ parameter shape [${param.shape.join(', ')}]`);
  for (const t of [param, grad, ...(buf ? [buf] : [])]) {
    if (t.dtype !== 'float32') throw new Error(`sgdStep: tensors must be float32, got ${t.dtype}`);
  }
}

/** The same update from tensor ops, for backends without the fused kernel. */
function sgdStepOps(param: tf.Tensor, grad: tf.Tensor, buf: tf.Tensor | undefined, o: SgdStepOptions): SgdStepResult {
  return tf.tidy(() => {
    const g = o.weightDecay !== 0 ? tf.add(grad, tf.mul(param, tf.scalar(o.weightDecay))) : grad;
    let d = g;
    let newBuf: tf.Tensor | undefined;
    if (o.momentum !== 0) {
      newBuf = buf ? tf.add(tf.mul(buf, tf.scalar(o.momentum)), g) : tf.clone(g);
      d = newBuf;
    }
    const next = tf.sub(param, tf.mul(d, tf.scalar(o.lr)));
    return { param: next, buf: newBuf };
  }) as SgdStepResult;
}

/**
 * New parameter and momentum tensors after one step (inputs are not consumed). Not
 * differentiable: call it outside gradient tapes, as optimisers do.
 */
export function sgdStep(param: tf.Tensor, grad: tf.Tensor, buf: tf.Tensor | undefined, o: SgdStepOptions): SgdStepResult {
  checkShapes(param, grad, buf);
  if (!tf.getKernel(SGD_STEP, tf.getBackend())) return sgdStepOps(param, grad, buf, o);
  const inputs: tf.NamedTensorMap = buf ? { param, grad, buf } : { param, grad };
  const attrs = { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay };
  const out = tf.engine().runKernel(SGD_STEP, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { param: out[0]!, buf: o.momentum !== 0 ? out[1] : undefined };
}

export interface SgdStepItem {
  readonly param: tf.Tensor;
  readonly grad: tf.Tensor;
  readonly buf: tf.Tensor | undefined;
  /** this tensor's learning rate */
  readonly lr: number;
}

/**
 * `sgdStep` for several tensors at once: one engine dispatch instead of one per tensor where the
 * backend has the batched kernel (a model's step is 6–8 tensors), else one `sgdStep` each.
 * Results are those of `sgdStep`, tensor by tensor.
 */
export function sgdStepAll(items: readonly SgdStepItem[], o: { readonly momentum: number; readonly weightDecay: number }): SgdStepResult[] {
  for (const it of items) checkShapes(it.param, it.grad, it.buf);
  if (items.length === 0) return [];
  if (!tf.getKernel(SGD_STEP_ALL, tf.getBackend()) || !tf.getKernel(SGD_STEP, tf.getBackend())) {
    return items.map((it) => sgdStep(it.param, it.grad, it.buf, { lr: it.lr, ...o }));
  }
  const inputs: tf.NamedTensorMap = {};
  items.forEach((it, i) => {
    inputs[`p${i}`] = it.param;
    inputs[`g${i}`] = it.grad;
    if (it.buf) inputs[`b${i}`] = it.buf;
  });
  const attrs = { count: items.length, lrs: items.map((it) => it.lr), momentum: o.momentum, weightDecay: o.weightDecay };
  const out = tf.engine().runKernel(SGD_STEP_ALL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const per = o.momentum !== 0 ? 2 : 1;
  return items.map((_, i) => ({ param: out[i * per]!, buf: o.momentum !== 0 ? out[i * per + 1] : undefined }));
}
