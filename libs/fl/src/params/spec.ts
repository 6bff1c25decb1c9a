/**
 * A model's parameters are one flat Float32Array plus this spec: every algorithm works on flat
 * vectors and named slices of them (docs/specs/protocol.md "Parameter vectors").
 */
export type ParamRole = 'body' | 'head';
export type ParamKind = 'weight' | 'bias';
/** Layer types matter to algorithms that slice by channel (HeteroFL) or mask by layer (FIARSE). */
export type LayerType = 'conv2d' | 'dense';

export interface TensorSpec {
  /** e.g. `conv1.weight`, `classifier.bias` */
  readonly name: string;
  readonly layer: string;
  readonly layerType: LayerType;
  readonly kind: ParamKind;
  /** tfjs layout: conv weight [kh, kw, in, out], dense weight [in, out], bias [out] */
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
  readonly role: ParamRole;
  /** in_channels·kh·kw for a conv, in_features for a dense layer (PyTorch's fan_in) */
  readonly fanIn: number;
}

export interface ParamSpec {
  readonly tensors: readonly TensorSpec[];
  /** total number of elements */
  readonly size: number;
}

export type TensorDecl = Omit<TensorSpec, 'offset' | 'length'>;

export function makeSpec(decls: readonly TensorDecl[]): ParamSpec {
  let offset = 0;
  const names = new Set<string>();
  const tensors = decls.map((d) => {
    if (names.has(d.name)) throw new Error(`makeSpec: duplicate tensor name '${d.name}'`);
    names.add(d.name);
    const length = d.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(length) || length <= 0) {
      throw new Error(`makeSpec: tensor '${d.name}' has invalid shape [${d.shape.join(', ')}]`);
    }
    const t: TensorSpec = { ...d, shape: [...d.shape], offset, length };
    offset += length;
    return t;
  });
  return { tensors, size: offset };
}

export function tensorByName(spec: ParamSpec, name: string): TensorSpec {
  const t = spec.tensors.find((x) => x.name === name);
  if (!t) {
    throw new Error(`unknown tensor '${name}'; the model has: ${spec.tensors.map((x) => x.name).join(', ')}`);
  }
  return t;
}

/** A view (no copy) of one tensor's elements inside a flat vector. */
export function sliceOf(spec: ParamSpec, params: Float32Array, name: string): Float32Array {
  const t = tensorByName(spec, name);
  return params.subarray(t.offset, t.offset + t.length);
}

/** Selects tensors by predicate; used to declare personal/shared parts of a model. */
export type TensorSelector = (t: TensorSpec) => boolean;
export const selectRole =
  (role: ParamRole): TensorSelector =>
  (t) => t.role === role;
export const selectAll: TensorSelector = () => true;
export const selectNone: TensorSelector = () => false;

/** The sub-spec of the selected tensors, with offsets renumbered densely (an upload's layout). */
export function subSpec(spec: ParamSpec, select: TensorSelector): ParamSpec {
  return makeSpec(
    spec.tensors.filter(select).map(({ offset: _o, length: _l, ...decl }) => decl),
  );
}

/** Copies the selected tensors of `params` into a dense vector laid out as `subSpec(spec, select)`. */
export function gatherTensors(spec: ParamSpec, params: Float32Array, select: TensorSelector): Float32Array {
  const out = new Float32Array(subSpec(spec, select).size);
  let at = 0;
  for (const t of spec.tensors) {
    if (!select(t)) continue;
    out.set(params.subarray(t.offset, t.offset + t.length), at);
    at += t.length;
  }
  return out;
}

/** Inverse of gatherTensors: writes a dense sub-vector back into `target` in place. */
export function scatterTensors(
  spec: ParamSpec,
  target: Float32Array,
  select: TensorSelector,
  dense: Float32Array,
): void {
  let at = 0;
  for (const t of spec.tensors) {
    if (!select(t)) continue;
    target.set(dense.subarray(at, at + t.length), t.offset);
    at += t.length;
  }
  if (at !== dense.length) {
    throw new Error(`scatterTensors: dense vector has ${dense.length} elements, selection needs ${at}`);
  }
}

/** A short stable fingerprint of a spec's layout, stored in blobs so a mismatched model is caught. */
export function specFingerprint(spec: ParamSpec): string {
  return spec.tensors.map((t) => `${t.name}:${t.shape.join('x')}`).join(',');
}
