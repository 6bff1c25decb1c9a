/**
 * A float64 reference for logistic regression trained with torch.optim.SGD semantics, to check
 * trainLocal against hand-derivable maths (W laid out [in][out], as the model spec says).
 */
export interface RefModel {
  w: number[][]; // [in][out]
  b: number[]; // [out]
}

export interface RefOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  lrScale?: { w: number; b: number };
  /** FedProx-style μ/2‖θ − anchor‖² added to the loss */
  prox?: { mu: number; anchor: RefModel };
  /** the forward uses (scale·W, b): checks that gradients flow through effectiveParams */
  effectiveWeightScale?: number;
}

export function refFromFlat(flat: Float32Array, inF: number, outF: number): RefModel {
  const w = Array.from({ length: inF }, (_, i) => Array.from({ length: outF }, (_, o) => flat[i * outF + o]!));
  const b = Array.from({ length: outF }, (_, o) => flat[inF * outF + o]!);
  return { w, b };
}

export function refToFlat(m: RefModel): Float64Array {
  return Float64Array.from([...m.w.flat(), ...m.b]);
}

function logits(m: RefModel, x: number[], wScale: number): number[] {
  return m.b.map((bo, o) => bo + x.reduce((s, xi, i) => s + xi * wScale * m.w[i]![o]!, 0));
}

function softmax(z: number[]): number[] {
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/** Mean cross-entropy of a batch and its gradient w.r.t. (W, b). */
export function refLossAndGrad(m: RefModel, xs: number[][], ys: number[], wScale = 1): { loss: number; gw: number[][]; gb: number[] } {
  const gw = m.w.map((row) => row.map(() => 0));
  const gb = m.b.map(() => 0);
  let loss = 0;
  const bsz = xs.length;
  xs.forEach((x, j) => {
    const p = softmax(logits(m, x, wScale));
    loss -= Math.log(p[ys[j]!]!) / bsz;
    p.forEach((pj, o) => {
      const d = (pj - (o === ys[j] ? 1 : 0)) / bsz;
      gb[o]! += d;
      x.forEach((xi, i) => {
        gw[i]![o]! += d * xi * wScale;
      });
    });
  });
  return { loss, gw, gb };
}

export class RefSgd {
  private bufW: number[][] | undefined;
  private bufB: number[] | undefined;
  constructor(private readonly opts: RefOptions) {}

  /** One step on a batch; returns the batch's cross-entropy before the update. */
  step(m: RefModel, xs: number[][], ys: number[]): number {
    const { lr, momentum, weightDecay: wd } = this.opts;
    const scale = this.opts.lrScale ?? { w: 1, b: 1 };
    const { loss, gw, gb } = refLossAndGrad(m, xs, ys, this.opts.effectiveWeightScale ?? 1);
    const prox = this.opts.prox;
    const g1 = gw.map((row, i) =>
      row.map((g, o) => g + (prox ? prox.mu * (m.w[i]![o]! - prox.anchor.w[i]![o]!) : 0) + wd * m.w[i]![o]!),
    );
    const g2 = gb.map((g, o) => g + (prox ? prox.mu * (m.b[o]! - prox.anchor.b[o]!) : 0) + wd * m.b[o]!);
    if (momentum !== 0) {
      this.bufW = this.bufW ? this.bufW.map((row, i) => row.map((v, o) => momentum * v + g1[i]![o]!)) : g1;
      this.bufB = this.bufB ? this.bufB.map((v, o) => momentum * v + g2[o]!) : g2;
    } else {
      this.bufW = g1;
      this.bufB = g2;
    }
    const bw = this.bufW;
    const bb = this.bufB;
    m.w = m.w.map((row, i) => row.map((v, o) => v - lr * scale.w * bw[i]![o]!));
    m.b = m.b.map((v, o) => v - lr * scale.b * bb[o]!);
    return loss;
  }
}
