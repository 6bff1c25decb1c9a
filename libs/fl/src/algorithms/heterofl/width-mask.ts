import type { ParamSpec, TensorSpec } from '../../params/spec.js';

/**
 * HeteroFL's width-sliced submodels (Diao et al., ICLR 2021): a client of capacity β keeps the
 * first ⌈β·c⌉ output channels of every layer and, for the next layer, the matching input
 * channels. The input image channels and the classifier's outputs are never sliced.
 *
 * Simulated by masking the full model, which is exact for these models: a dropped output
 * channel has zero weights and zero bias, so its pre-activation is 0, ReLU(0) = 0 and
 * max-pool of zeros is 0; its outgoing weights are masked too, so it adds exactly nothing to
 * the kept units, and there is no batch norm whose statistics a zero channel could shift. The
 * kept units therefore compute what the sliced network computes, and their gradients are the
 * same; the dropped elements get zero gradient through the mask.
 *
 * Layers are read from the spec as a chain (each layer's input is the previous layer's
 * output), which holds for fedavgcnn, mlp and logreg. A dense layer after a conv reads the
 * flattened NHWC activation, where the channel is the fastest-varying index: row r comes from
 * channel r mod c_prev.
 */

interface LayerInfo {
  readonly name: string;
  readonly tensors: readonly TensorSpec[];
  readonly layerType: TensorSpec['layerType'];
  readonly inputs: number;
  readonly outputs: number;
}

/** ⌈β·c⌉, at least 1, tolerant of β·c landing a hair over an integer (0.1·30 = 3.0000000000000004). */
export function keptChannels(beta: number, channels: number): number {
  if (!(beta > 0 && beta <= 1)) throw new Error(`submodel size β must be in (0, 1], got ${beta}`);
  return Math.min(channels, Math.max(1, Math.ceil(beta * channels - 1e-9)));
}

function layersOf(spec: ParamSpec): LayerInfo[] {
  const names = [...new Set(spec.tensors.map((t) => t.layer))];
  return names.map((name) => {
    const tensors = spec.tensors.filter((t) => t.layer === name);
    const weight = tensors.find((t) => t.kind === 'weight');
    if (!weight) throw new Error(`heterofl: layer '${name}' has no weight tensor`);
    const shape = weight.shape;
    const isConv = weight.layerType === 'conv2d';
    if (shape.length !== (isConv ? 4 : 2)) {
      throw new Error(`heterofl: layer '${name}' weight has shape [${shape.join(', ')}], expected ${isConv ? '[kh, kw, in, out]' : '[in, out]'}`);
    }
    return {
      name,
      tensors,
      layerType: weight.layerType,
      inputs: isConv ? shape[2]! : shape[0]!,
      outputs: shape[shape.length - 1]!,
    };
  });
}

/** Kept output channels per layer at size β (the last layer, the classifier, keeps all). */
export function widthPlan(spec: ParamSpec, beta: number): { layer: string; outputs: number; kept: number }[] {
  const layers = layersOf(spec);
  return layers.map((l, i) => ({
    layer: l.name,
    outputs: l.outputs,
    kept: i === layers.length - 1 ? l.outputs : keptChannels(beta, l.outputs),
  }));
}

/** The element mask (1 = in the submodel) of the width-β submodel over the full layout. */
export function widthMask(spec: ParamSpec, beta: number): Uint8Array {
  const layers = layersOf(spec);
  const plan = widthPlan(spec, beta);
  const keep = new Uint8Array(spec.size);
  layers.forEach((l, li) => {
    const keepOut = plan[li]!.kept;
    // Which input rows/channels are kept: all for the first layer (the image), else the
    // previous layer's kept channels.
    let inputKept: (row: number) => boolean = () => true;
    if (li > 0) {
      const prev = layers[li - 1]!;
      const prevKept = plan[li - 1]!.kept;
      if (l.layerType === 'conv2d') {
        if (l.inputs !== prev.outputs) {
          throw new Error(`heterofl: conv layer '${l.name}' has ${l.inputs} input channels, '${prev.name}' outputs ${prev.outputs}`);
        }
        inputKept = (c) => c < prevKept;
      } else {
        if (l.inputs % prev.outputs !== 0) {
          throw new Error(
            `heterofl: dense layer '${l.name}' has ${l.inputs} inputs, not a multiple of '${prev.name}''s ${prev.outputs} channels`,
          );
        }
        inputKept = (row) => row % prev.outputs < prevKept;
      }
    }
    for (const t of l.tensors) {
      const out = t.shape[t.shape.length - 1]!;
      if (out !== l.outputs) throw new Error(`heterofl: tensor '${t.name}' has ${out} outputs, layer '${l.name}' has ${l.outputs}`);
      if (t.kind === 'bias') {
        for (let o = 0; o < keepOut; o++) keep[t.offset + o] = 1;
        continue;
      }
      // weight: [kh, kw, in, out] or [in, out], output fastest, then input
      const inputs = l.inputs;
      const spatial = t.length / (inputs * out);
      for (let s = 0; s < spatial; s++) {
        for (let i = 0; i < inputs; i++) {
          if (!inputKept(i)) continue;
          const base = t.offset + (s * inputs + i) * out;
          for (let o = 0; o < keepOut; o++) keep[base + o] = 1;
        }
      }
    }
  });
  return keep;
}
