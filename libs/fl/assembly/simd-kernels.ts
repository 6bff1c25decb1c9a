/**
 * Training kernels for the pure-npm wasm backend, in AssemblyScript compiled to WebAssembly
 * SIMD128 (scripts/build-wasm-kernels.mjs). The module imports tfjs-backend-wasm's own memory, so
 * it works on tensors where they live: every pointer is a byte offset into that heap, and
 * scratch space is allocated there by the caller.
 *
 * Two builds (scripts/build-wasm-kernels.mjs): plain SIMD128, where every product is an IEEE
 * float32 multiply then add, and relaxed SIMD, where the matmul's multiply-adds are fused (V8
 * emits FMA instructions on x86-64 with FMA3 and on ARM64; about 1.25× the plain build's
 * throughput). Either way sums run in an order fixed by the shapes alone, on one thread, so the
 * same inputs give the same bytes for a given build and CPU.
 *
 * This module must stay free of static data: it shares memory with the backend's allocator.
 */

// ---------------------------------------------------------------------------------------------
// GEMM: C[M×N] = A[M×K]·B[K×N] (+ bias, ReLU), blocked as in GotoBLAS: for each block of KC
// steps, B is packed into panels of 8 columns and A, by blocks of MC rows, into tiles of 4 rows,
// both contiguous in k and zero-padded, so a 4×8 register tile reads both operands sequentially
// from cache whatever the operands' layout (Aᵀ and strided C cost nothing).

/** flags of gemm() */
const ACCUMULATE = 1;
const RELU = 2;
const BIAS = 4;

/** k steps per packed block: an A block (MC·KC floats) and a B panel (KC·8) stay in L1 */
const KC = 128;
/** rows per packed A block (MC·KC floats) */
const MC = 64;

/** Bytes of `work` gemm() needs for N columns. */
export function gemmWorkBytes(N: i32): i32 {
  return (MC * KC + KC * ((N + 7) & ~7)) * 4;
}

@inline function zero(): v128 {
  return f32x4.splat(0.0);
}

/** up to 4 floats at p, p+step, …; the lanes past n are 0 */
@inline function loadVec(p: usize, step: usize, n: i32): v128 {
  if (n >= 4 && step == 4) return v128.load(p);
  let v = zero();
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  if (n > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
  return v;
}

/** the first n (≤ 4) lanes of v to p, p+step, … */
@inline function storeVec(p: usize, step: usize, n: i32, v: v128): void {
  if (n >= 4 && step == 4) {
    v128.store(p, v);
    return;
  }
  if (n > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p + step, f32x4.extract_lane(v, 1));
  if (n > 2) store<f32>(p + 2 * step, f32x4.extract_lane(v, 2));
  if (n > 3) store<f32>(p + 3 * step, f32x4.extract_lane(v, 3));
}

/** c + a·b: one fused multiply-add in the relaxed-SIMD build, else a multiply then an add */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** x < 0 ? 0 : x, as tfjs's relu (keeps −0 and NaN) */
@inline function relu(x: v128): v128 {
  return v128.bitselect(zero(), x, f32x4.lt(x, zero()));
}

/** B[k0…k0+kc) × all N columns into panels of kc×8 floats (columns past N are 0) */
function packB(b: usize, ldb: usize, N: i32, k0: i32, kc: i32, dst: usize): void {
  let d = dst;
  for (let j = 0; j < N; j += 8) {
    const nb = min(N - j, 8);
    let p = b + <usize>k0 * ldb + <usize>j * 4;
    if (nb == 8) {
      for (let k = 0; k < kc; k++) {
        v128.store(d, v128.load(p));
        v128.store(d, v128.load(p, 16), 16);
        p += ldb;
        d += 32;
      }
    } else {
      const n0 = min(nb, 4);
      for (let k = 0; k < kc; k++) {
        v128.store(d, loadVec(p, 4, n0));
        v128.store(d, loadVec(p + 16, 4, nb - n0), 16);
        p += ldb;
        d += 32;
      }
    }
  }
}

/**
 * The 4×4 block whose rows start at src, src+ss, … written transposed to dst, dst+ds, …: row r of
 * the output holds element r of every input row.
 */
@inline function transpose4x4(src: usize, ss: usize, dst: usize, ds: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + ss), r2 = v128.load(src + 2 * ss), r3 = v128.load(src + 3 * ss);
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
  v128.store(dst + ds, i64x2.shuffle(t0, t1, 1, 3));
  v128.store(dst + 2 * ds, i64x2.shuffle(t2, t3, 0, 2));
  v128.store(dst + 3 * ds, i64x2.shuffle(t2, t3, 1, 3));
}

/** A[i0…i0+mc) × [k0…k0+kc) into tiles of kc×4 floats (rows past mc are 0) */
function packA(a: usize, ars: usize, acs: usize, i0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  let d = dst;
  for (let i = 0; i < mc; i += 4) {
    const rows = min(mc - i, 4);
    let p = a + <usize>(i0 + i) * ars + <usize>k0 * acs;
    if (rows == 4 && acs == 4) {
      // rows along k: four streams, transposed 4×4 at a time
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        transpose4x4(p, ars, d, 16);
        p += 16;
        d += 64;
      }
      for (; k < kc; k++) {
        v128.store(d, loadVec(p, ars, 4));
        p += 4;
        d += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        v128.store(d, loadVec(p, ars, rows));
        p += acs;
        d += 16;
      }
    }
  }
}

/**
 * One tile of C (`rows` ≤ 4 of its rows, nb ≤ 8 of its columns are real) over kc packed steps.
 * The accumulators start at C's values with `fromC` (the sums of the K blocks before, or the old
 * C with ACCUMULATE), else at 0; `epilogue` (the last K block) adds the bias and applies ReLU.
 */
function tile(
  kc: i32, pa: usize, pb: usize, pc: usize, crs: usize, ccs: usize, rows: i32, nb: i32,
  fromC: bool, epilogue: bool, flags: i32, pbias: usize,
): void {
  const n0 = min(nb, 4);
  const n1 = nb - n0;
  const h: usize = 4 * ccs;
  let c00 = zero(), c01 = zero(), c10 = zero(), c11 = zero();
  let c20 = zero(), c21 = zero(), c30 = zero(), c31 = zero();
  if (fromC) {
    c00 = loadVec(pc, ccs, n0);
    c01 = loadVec(pc + h, ccs, n1);
    if (rows > 1) {
      c10 = loadVec(pc + crs, ccs, n0);
      c11 = loadVec(pc + crs + h, ccs, n1);
    }
    if (rows > 2) {
      c20 = loadVec(pc + 2 * crs, ccs, n0);
      c21 = loadVec(pc + 2 * crs + h, ccs, n1);
    }
    if (rows > 3) {
      c30 = loadVec(pc + 3 * crs, ccs, n0);
      c31 = loadVec(pc + 3 * crs + h, ccs, n1);
    }
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 16;
    pb += 32;
  }
  let bias0 = zero(), bias1 = zero();
  const addBias = epilogue && (flags & BIAS) != 0;
  const applyRelu = epilogue && (flags & RELU) != 0;
  if (addBias) {
    bias0 = loadVec(pbias, 4, n0);
    bias1 = loadVec(pbias + 16, 4, n1);
  }
  for (let r = 0; r < rows; r++) {
    let v0 = c00, v1 = c01;
    if (r == 1) {
      v0 = c10;
      v1 = c11;
    } else if (r == 2) {
      v0 = c20;
      v1 = c21;
    } else if (r == 3) {
      v0 = c30;
      v1 = c31;
    }
    if (addBias) {
      v0 = f32x4.add(v0, bias0);
      v1 = f32x4.add(v1, bias1);
    }
    if (applyRelu) {
      v0 = relu(v0);
      v1 = relu(v1);
    }
    const p = pc + <usize>r * crs;
    storeVec(p, ccs, n0, v0);
    storeVec(p + h, ccs, n1, v1);
  }
}

/**
 * C = A·B with A[i,k] at a + i·ars + k·acs, B[k,n] at b + k·ldb + 4n, C[i,n] at c + i·crs + n·ccs
 * (strides in bytes); `work` has gemmWorkBytes(N) bytes. Each C element is one running float32
 * sum over k = 0…K−1, starting at 0, or at C's old value with flags & 1; then + bias[n] (at
 * `bias`) with flags & 4, then ReLU with flags & 2.
 */
export function gemm(
  M: i32, N: i32, K: i32, a: usize, ars: usize, acs: usize, b: usize, ldb: usize,
  c: usize, crs: usize, ccs: usize, flags: i32, bias: usize, work: usize,
): void {
  const workB = work + <usize>(MC * KC * 4);
  const panels = (N + 7) >> 3;
  // K = 0 still writes C (the bias, or zeros)
  const steps = max(K, 1);
  for (let k0 = 0; k0 < steps; k0 += KC) {
    const kc = min(K - k0, KC);
    const fromC = k0 > 0 || (flags & ACCUMULATE) != 0;
    const epilogue = k0 + KC >= steps;
    packB(b, ldb, N, k0, kc, workB);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = min(M - i0, MC);
      packA(a, ars, acs, i0, mc, k0, kc, work);
      for (let jp = 0; jp < panels; jp++) {
        const j = jp << 3;
        const nb = min(N - j, 8);
        const pb = workB + <usize>jp * <usize>kc * 32;
        for (let i = 0; i < mc; i += 4) {
          const pc = c + <usize>(i0 + i) * crs + <usize>j * ccs;
          tile(kc, work + <usize>i * <usize>kc * 4, pb, pc, crs, ccs, min(mc - i, 4), nb, fromC, epilogue, flags, bias + <usize>j * 4);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Convolutions (NHWC input, [KH, KW, C, O] filter) by blocks of output positions: each block's
// patch rows are gathered into scratch (small enough to stay in cache) and multiplied there.
// The geometry is 13 i32 at `g`: B H W C OH OW O KH KW SH SW padTop padLeft.

@inline function geo(g: usize, i: i32): i32 {
  return load<i32>(g + <usize>i * 4);
}

/**
 * Patch rows row0 … row0+rows−1 (row = (b·OH + i)·OW + j) of x into dst, each KH·KW·C floats
 * in (p, q, c) order; taps outside the image are 0.
 */
function gatherPatches(g: usize, x: usize, row0: i32, rows: i32, dst: usize): void {
  const H = geo(g, 1), W = geo(g, 2), C = geo(g, 3), OH = geo(g, 4), OW = geo(g, 5);
  const KH = geo(g, 7), KW = geo(g, 8), SH = geo(g, 9), SW = geo(g, 10), PT = geo(g, 11), PL = geo(g, 12);
  const cBytes = <usize>C * 4;
  const rowBytes = <usize>KW * cBytes;
  let d = dst;
  for (let r = row0; r < row0 + rows; r++) {
    const j = r % OW;
    const i = (r / OW) % OH;
    const bi = r / (OW * OH);
    const w0 = j * SW - PL;
    const inside = w0 >= 0 && w0 + KW <= W;
    for (let p = 0; p < KH; p++) {
      const h = i * SH + p - PT;
      if (h < 0 || h >= H) {
        zeroBytes(d, rowBytes);
      } else if (inside) {
        copyBytes(d, x + (<usize>((bi * H + h) * W + w0)) * cBytes, rowBytes);
      } else {
        for (let q = 0; q < KW; q++) {
          const w = w0 + q;
          const dq = d + <usize>q * cBytes;
          if (w < 0 || w >= W) zeroBytes(dq, cBytes);
          else copyBytes(dq, x + (<usize>((bi * H + h) * W + w)) * cBytes, cBytes);
        }
      }
      d += rowBytes;
    }
  }
}

/**
 * Copies of a few dozen to a few hundred bytes (a patch row): inline, as memory.copy and
 * memory.fill cost a call into the runtime each, more than such a copy itself.
 */
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  let k: usize = 0;
  for (; k + 16 <= n; k += 16) v128.store(dst + k, v128.load(src + k));
  for (; k < n; k += 4) store<f32>(dst + k, load<f32>(src + k));
}

@inline function zeroBytes(dst: usize, n: usize): void {
  let k: usize = 0;
  for (; k + 16 <= n; k += 16) v128.store(dst + k, zero());
  for (; k < n; k += 4) store<f32>(dst + k, 0);
}

/** Adds patch-gradient rows back onto the image: the adjoint of gatherPatches, rows in order. */
function scatterPatches(g: usize, src: usize, row0: i32, rows: i32, dx: usize): void {
  const H = geo(g, 1), W = geo(g, 2), C = geo(g, 3), OH = geo(g, 4), OW = geo(g, 5);
  const KH = geo(g, 7), KW = geo(g, 8), SH = geo(g, 9), SW = geo(g, 10), PT = geo(g, 11), PL = geo(g, 12);
  const cBytes = <usize>C * 4;
  let s = src;
  for (let r = row0; r < row0 + rows; r++) {
    const j = r % OW;
    const i = (r / OW) % OH;
    const bi = r / (OW * OH);
    for (let p = 0; p < KH; p++) {
      const h = i * SH + p - PT;
      for (let q = 0; q < KW; q++) {
        const w = j * SW + q - PL;
        if (h >= 0 && h < H && w >= 0 && w < W) addInto(dx + (<usize>((bi * H + h) * W + w)) * cBytes, s, C);
        s += cBytes;
      }
    }
  }
}

/** dst[0…n) += src[0…n) */
@inline function addInto(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k * 4;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; k < n; k++) {
    const o = <usize>k * 4;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

@inline function window(g: usize): i32 {
  return geo(g, 7) * geo(g, 8) * geo(g, 3);
}

@inline function positions(g: usize): i32 {
  return geo(g, 0) * geo(g, 4) * geo(g, 5);
}

/** y = conv(x, w) (+ bias) (ReLU): flags as gemm's (BIAS, RELU); `block` patch rows at a time. */
export function convForward(g: usize, x: usize, w: usize, bias: usize, flags: i32, y: usize, scratch: usize, block: i32, work: usize): void {
  const kdim = window(g), O = geo(g, 6), rows = positions(g);
  const kBytes = <usize>kdim * 4, oBytes = <usize>O * 4;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = min(block, rows - r0);
    gatherPatches(g, x, r0, n, scratch);
    gemm(n, O, kdim, scratch, kBytes, 4, w, oBytes, y + <usize>r0 * oBytes, oBytes, 4, flags, bias, work);
  }
}

/** dW = Σ_rows patchesᵀ·dy, summed over the rows in order. */
export function convFilterGrad(g: usize, x: usize, dy: usize, dw: usize, scratch: usize, block: i32, work: usize): void {
  const kdim = window(g), O = geo(g, 6), rows = positions(g);
  const kBytes = <usize>kdim * 4, oBytes = <usize>O * 4;
  if (rows == 0) memory.fill(dw, 0, <usize>kdim * oBytes);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = min(block, rows - r0);
    gatherPatches(g, x, r0, n, scratch);
    gemm(kdim, O, n, scratch, 4, kBytes, dy + <usize>r0 * oBytes, oBytes, dw, oBytes, 4, r0 > 0 ? ACCUMULATE : 0, 0, work);
  }
}

/**
 * dx = col2im(dy·Wᵀ). wT is the filter transposed to [O, KH·KW·C] (see transpose); dx is zeroed
 * here and receives each block's patch gradients in row order.
 */
export function convInputGrad(g: usize, dy: usize, wT: usize, dx: usize, scratch: usize, block: i32, work: usize): void {
  const kdim = window(g), O = geo(g, 6), rows = positions(g);
  const kBytes = <usize>kdim * 4, oBytes = <usize>O * 4;
  memory.fill(dx, 0, <usize>geo(g, 0) * geo(g, 1) * geo(g, 2) * geo(g, 3) * 4);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = min(block, rows - r0);
    gemm(n, kdim, O, dy + <usize>r0 * oBytes, oBytes, 4, wT, kBytes, scratch, kBytes, 4, 0, 0, work);
    scatterPatches(g, scratch, r0, n, dx);
  }
}

// ---------------------------------------------------------------------------------------------
// Element-wise and reductions.

/** dst[cols×rows] = src[rows×cols]ᵀ, by 4×4 blocks in registers where they fit */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  const rs = <usize>cols * 4, ds = <usize>rows * 4;
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      transpose4x4(src + <usize>i * rs + <usize>j * 4, rs, dst + <usize>j * ds + <usize>i * 4, ds);
    }
    for (; j < cols; j++) {
      for (let k = 0; k < 4; k++) store<f32>(dst + <usize>j * ds + <usize>(i + k) * 4, load<f32>(src + <usize>(i + k) * rs + <usize>j * 4));
    }
  }
  for (; i < rows; i++) {
    for (let j = 0; j < cols; j++) store<f32>(dst + <usize>j * ds + <usize>i * 4, load<f32>(src + <usize>i * rs + <usize>j * 4));
  }
}

/**
 * A layer's backward prologue: dpre = y > 0 ? dy : 0 (or dy itself without ReLU) and
 * db[c] = Σ_rows dpre[row, c], summed over the rows in order.
 */
export function biasReluGrad(dy: usize, y: usize, rows: i32, cols: i32, reluOn: i32, dpre: usize, db: usize): void {
  const rs = <usize>cols * 4;
  memory.fill(db, 0, rs);
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * rs;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const k = o + <usize>c * 4;
      let g = v128.load(dy + k);
      if (reluOn) g = v128.and(g, f32x4.gt(v128.load(y + k), zero()));
      v128.store(dpre + k, g);
      const pd = db + <usize>c * 4;
      v128.store(pd, f32x4.add(v128.load(pd), g));
    }
    for (; c < cols; c++) {
      const k = o + <usize>c * 4;
      let g = load<f32>(dy + k);
      if (reluOn && !(load<f32>(y + k) > 0)) g = 0;
      store<f32>(dpre + k, g);
      const pd = db + <usize>c * 4;
      store<f32>(pd, load<f32>(pd) + g);
    }
  }
}

/**
 * MaxPool 2×2, stride 2, no padding, backward: each window's gradient goes to its first maximal
 * input (row-major window order, as the cpu backend and PyTorch), the other three get 0.
 */
export function maxPool2x2Grad(x: usize, dy: usize, dx: usize, B: i32, H: i32, W: i32, C: i32): void {
  const OH = H >> 1, OW = W >> 1;
  if (OH * 2 != H || OW * 2 != W) memory.fill(dx, 0, <usize>B * H * W * C * 4);
  const cBytes = <usize>C * 4, rowBytes = <usize>W * cBytes;
  let d = dy;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const o00 = (<usize>((b * H + 2 * i) * W + 2 * j)) * cBytes;
        const o01 = o00 + cBytes, o10 = o00 + rowBytes, o11 = o10 + cBytes;
        let c = 0;
        for (; c + 4 <= C; c += 4) {
          const k = <usize>c * 4;
          const v00 = v128.load(x + o00 + k), v01 = v128.load(x + o01 + k);
          const v10 = v128.load(x + o10 + k), v11 = v128.load(x + o11 + k);
          const g = v128.load(d + k);
          const m1 = f32x4.gt(v01, v00);
          let best = v128.bitselect(v01, v00, m1);
          const m2 = f32x4.gt(v10, best);
          best = v128.bitselect(v10, best, m2);
          const m3 = f32x4.gt(v11, best);
          const s2 = v128.andnot(m2, m3);
          const s1 = v128.andnot(v128.andnot(m1, m2), m3);
          v128.store(dx + o00 + k, v128.andnot(g, v128.or(m1, v128.or(m2, m3))));
          v128.store(dx + o01 + k, v128.and(g, s1));
          v128.store(dx + o10 + k, v128.and(g, s2));
          v128.store(dx + o11 + k, v128.and(g, m3));
        }
        for (; c < C; c++) {
          const k = <usize>c * 4;
          const v00 = load<f32>(x + o00 + k), v01 = load<f32>(x + o01 + k);
          const v10 = load<f32>(x + o10 + k), v11 = load<f32>(x + o11 + k);
          const g = load<f32>(d + k);
          let best = v00;
          let at = 0;
          if (v01 > best) {
            best = v01;
            at = 1;
          }
          if (v10 > best) {
            best = v10;
            at = 2;
          }
          if (v11 > best) at = 3;
          store<f32>(dx + o00 + k, at == 0 ? g : 0);
          store<f32>(dx + o01 + k, at == 1 ? g : 0);
          store<f32>(dx + o10 + k, at == 2 ? g : 0);
          store<f32>(dx + o11 + k, at == 3 ? g : 0);
        }
        d += cBytes;
      }
    }
  }
}

/**
 * TorchSgd's update over n floats, each operation rounded to float32 as the unfused tensor ops
 * round it: g = grad + param·wd (wd ≠ 0), d = buf·momentum + g (buf, else g), written to outBuf
 * (when non-zero), param' = param − d·lr.
 */
export function sgdStep(param: usize, grad: usize, buf: usize, outParam: usize, outBuf: usize, n: i32, lr: f32, momentum: f32, wd: f32): void {
  const vlr = f32x4.splat(lr), vm = f32x4.splat(momentum), vwd = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const p = v128.load(param + o);
    let d = v128.load(grad + o);
    if (wd != 0) d = f32x4.add(d, f32x4.mul(p, vwd));
    if (buf) d = f32x4.add(f32x4.mul(v128.load(buf + o), vm), d);
    if (outBuf) v128.store(outBuf + o, d);
    v128.store(outParam + o, f32x4.sub(p, f32x4.mul(d, vlr)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const p = load<f32>(param + o);
    let d = load<f32>(grad + o);
    if (wd != 0) d = d + p * wd;
    if (buf) d = load<f32>(buf + o) * momentum + d;
    if (outBuf) store<f32>(outBuf + o, d);
    store<f32>(outParam + o, p - d * lr);
  }
}
