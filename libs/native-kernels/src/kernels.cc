#include "kernels.h"

#include "conv-onednn.h"

#include <cblas.h>

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace fedsim {

namespace {

// One scratch patch matrix per thread, grown on demand and reused across calls: allocating
// several megabytes per kernel call would cost more than the copy itself.
std::vector<float>& scratchBuffer() {
  thread_local std::vector<float> buf;
  return buf;
}

std::vector<float>& scratch(size_t n) {
  std::vector<float>& buf = scratchBuffer();
  if (buf.size() < n) buf.resize(n);
  return buf;
}

void scratchRelease() { std::vector<float>().swap(scratchBuffer()); }

// Patch matrix: rows are the output positions (b, i, j), columns the filter taps (p, q, c), so
// that with the [kh,kw,in,out] filter read as a [kh·kw·in, out] matrix, conv = patches · filter.
void im2col(const float* x, float* cols, const ConvDims& d) {
  float* out = cols;
  for (int b = 0; b < d.batch; b++) {
    for (int i = 0; i < d.outH; i++) {
      for (int j = 0; j < d.outW; j++) {
        for (int p = 0; p < d.kH; p++) {
          const int r = i * d.strideH + p - d.padTop;
          if (r < 0 || r >= d.inH) {
            std::memset(out, 0, sizeof(float) * d.kW * d.inC);
            out += d.kW * d.inC;
            continue;
          }
          const float* rowIn = x + (int64_t(b) * d.inH + r) * d.inW * d.inC;
          const int q0 = j * d.strideW - d.padLeft;
          if (q0 >= 0 && q0 + d.kW <= d.inW) {
            // the whole filter row is inside the image: one contiguous copy
            std::memcpy(out, rowIn + int64_t(q0) * d.inC, sizeof(float) * d.kW * d.inC);
            out += d.kW * d.inC;
            continue;
          }
          for (int q = 0; q < d.kW; q++) {
            const int s = q0 + q;
            if (s < 0 || s >= d.inW) {
              std::memset(out, 0, sizeof(float) * d.inC);
            } else {
              std::memcpy(out, rowIn + int64_t(s) * d.inC, sizeof(float) * d.inC);
            }
            out += d.inC;
          }
        }
      }
    }
  }
}

// Adjoint of im2col: scatter-add every column block back onto the image.
void col2im(const float* cols, float* dx, const ConvDims& d) {
  std::memset(dx, 0, sizeof(float) * int64_t(d.batch) * d.inH * d.inW * d.inC);
  const float* in = cols;
  for (int b = 0; b < d.batch; b++) {
    for (int i = 0; i < d.outH; i++) {
      for (int j = 0; j < d.outW; j++) {
        for (int p = 0; p < d.kH; p++) {
          const int r = i * d.strideH + p - d.padTop;
          if (r < 0 || r >= d.inH) {
            in += d.kW * d.inC;
            continue;
          }
          float* rowOut = dx + (int64_t(b) * d.inH + r) * d.inW * d.inC;
          for (int q = 0; q < d.kW; q++) {
            const int s = j * d.strideW + q - d.padLeft;
            if (s >= 0 && s < d.inW) {
              float* o = rowOut + int64_t(s) * d.inC;
              for (int c = 0; c < d.inC; c++) o[c] += in[c];
            }
            in += d.inC;
          }
        }
      }
    }
  }
}

inline int64_t positions(const ConvDims& d) { return int64_t(d.batch) * d.outH * d.outW; }
inline int64_t taps(const ConvDims& d) { return int64_t(d.kH) * d.kW * d.inC; }

bool isPointwise(const ConvDims& d) {
  return d.kH == 1 && d.kW == 1 && d.strideH == 1 && d.strideW == 1 && d.padTop == 0 && d.padLeft == 0;
}

}  // namespace

void gemm(const float* a, const float* b, float* c, const GemmDims& d) {
  const int lda = d.transA ? d.m : d.k;
  const int ldb = d.transB ? d.k : d.n;
  for (int i = 0; i < d.batch; i++) {
    cblas_sgemm(CblasRowMajor, d.transA ? CblasTrans : CblasNoTrans, d.transB ? CblasTrans : CblasNoTrans, d.m, d.n, d.k,
                1.0f, a + i * d.strideA, lda, b + i * d.strideB, ldb, 0.0f, c + int64_t(i) * d.m * d.n, d.n);
  }
}

namespace {

// The patch matrix is built for a few images at a time, so its scratch stays bounded (evaluation
// batches of hundreds of images would otherwise need hundreds of MB). The split depends only on
// the shapes, so results stay reproducible.
constexpr int64_t kMaxScratchFloats = int64_t(4) << 20;

int imagesPerChunk(const ConvDims& d) {
  const int64_t perImage = int64_t(d.outH) * d.outW * taps(d);
  return int(std::max<int64_t>(1, std::min<int64_t>(d.batch, kMaxScratchFloats / std::max<int64_t>(perImage, 1))));
}

ConvDims chunkOf(const ConvDims& d, int images) {
  ConvDims c = d;
  c.batch = images;
  return c;
}

}  // namespace

namespace {
bool convOnednn = false;
}

bool setConvEngine(bool onednn) {
  convOnednn = onednn && onednnAvailable();
  return convOnednn;
}

bool convEngineIsOnednn() { return convOnednn; }

void conv2dForward(const float* x, const float* w, float* y, const ConvDims& d) {
  if (convOnednn && onednnConvForward(x, w, y, d)) return;
  const int64_t k = taps(d);
  if (isPointwise(d)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(positions(d)), d.outC, int(k), 1.0f, x, int(k), w, d.outC, 0.0f, y, d.outC);
    return;
  }
  const int per = imagesPerChunk(d);
  const int64_t imageIn = int64_t(d.inH) * d.inW * d.inC, imageOut = int64_t(d.outH) * d.outW * d.outC;
  for (int b0 = 0; b0 < d.batch; b0 += per) {
    const ConvDims c = chunkOf(d, std::min(per, d.batch - b0));
    const int64_t n = positions(c);
    float* cols = scratch(size_t(n * k)).data();
    im2col(x + b0 * imageIn, cols, c);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), d.outC, int(k), 1.0f, cols, int(k), w, d.outC, 0.0f,
                y + b0 * imageOut, d.outC);
  }
}

void conv2dFilterGrad(const float* x, const float* dy, float* dw, const ConvDims& d) {
  if (convOnednn && onednnConvFilterGrad(x, dy, dw, d)) return;
  const int64_t k = taps(d);
  if (isPointwise(d)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), d.outC, int(positions(d)), 1.0f, x, int(k), dy, d.outC, 0.0f, dw, d.outC);
    return;
  }
  const int per = imagesPerChunk(d);
  const int64_t imageIn = int64_t(d.inH) * d.inW * d.inC, imageOut = int64_t(d.outH) * d.outW * d.outC;
  for (int b0 = 0; b0 < d.batch; b0 += per) {
    const ConvDims c = chunkOf(d, std::min(per, d.batch - b0));
    const int64_t n = positions(c);
    float* cols = scratch(size_t(n * k)).data();
    im2col(x + b0 * imageIn, cols, c);
    // dW[k, o] (+)= Σ_n patches[n, k] · dy[n, o], chunks accumulated in order
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), d.outC, int(n), 1.0f, cols, int(k), dy + b0 * imageOut, d.outC,
                b0 == 0 ? 0.0f : 1.0f, dw, d.outC);
  }
}

void conv2dInputGrad(const float* dy, const float* w, float* dx, const ConvDims& d) {
  if (convOnednn && onednnConvInputGrad(dy, w, dx, d)) return;
  const int64_t k = taps(d);
  if (isPointwise(d)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(positions(d)), int(k), d.outC, 1.0f, dy, d.outC, w, d.outC, 0.0f, dx, int(k));
    return;
  }
  const int per = imagesPerChunk(d);
  const int64_t imageIn = int64_t(d.inH) * d.inW * d.inC, imageOut = int64_t(d.outH) * d.outW * d.outC;
  for (int b0 = 0; b0 < d.batch; b0 += per) {
    const ConvDims c = chunkOf(d, std::min(per, d.batch - b0));
    const int64_t n = positions(c);
    float* cols = scratch(size_t(n * k)).data();
    // cols[n, k] = dy[n, o] · W[k, o]ᵀ, then scattered back onto the images
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(k), d.outC, 1.0f, dy + b0 * imageOut, d.outC, w, d.outC, 0.0f,
                cols, int(k));
    col2im(cols, dx + b0 * imageIn, c);
  }
}

void biasActivation(float* y, const float* bias, int64_t rows, int32_t cols, bool relu) {
  for (int64_t r = 0; r < rows; r++) {
    float* row = y + r * cols;
    if (bias != nullptr) {
      for (int c = 0; c < cols; c++) row[c] += bias[c];
    }
    if (relu) {
      for (int c = 0; c < cols; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void reluGrad(const float* __restrict dy, const float* __restrict y, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

namespace {

// The models' 2×2/2 pool: windows tile the image, so each dx element belongs to at most one
// window and is written once. Branch-free selects so the channel loop vectorises. The first
// maximum in row-major window order wins, as in the cpu backend and PyTorch.
__attribute__((target_clones("avx2", "default")))
void pool2x2Grad(const float* __restrict x, const float* __restrict dy, float* __restrict dx, const PoolDims& d) {
  const int C = d.channels;
  const int64_t imageSize = int64_t(d.inH) * d.inW * C;
  const int64_t row = int64_t(d.inW) * C;
  for (int b = 0; b < d.batch; b++) {
    for (int i = 0; i < d.outH; i++) {
      for (int j = 0; j < d.outW; j++) {
        const int64_t o = b * imageSize + (int64_t(2 * i) * d.inW + 2 * j) * C;
        const float* x0 = x + o;
        const float* x1 = x0 + C;
        const float* x2 = x0 + row;
        const float* x3 = x2 + C;
        float* d0 = dx + o;
        float* d1 = d0 + C;
        float* d2 = d0 + row;
        float* d3 = d2 + C;
        const float* g = dy + ((int64_t(b) * d.outH + i) * d.outW + j) * C;
        for (int c = 0; c < C; c++) {
          const float v0 = x0[c], v1 = x1[c], v2 = x2[c], v3 = x3[c];
          // integer masks and selects (no short-circuit logic), which the vectoriser handles
          const int t1 = v1 > v0;
          const float m1 = t1 ? v1 : v0;
          const int t2 = v2 > m1;
          const float m2 = t2 ? v2 : m1;
          const int t3 = v3 > m2;
          const int w2 = t2 & (t3 ^ 1);
          const int w1 = t1 & ((t2 | t3) ^ 1);
          const int w0 = (t1 | t2 | t3) ^ 1;
          const float gc = g[c];
          d3[c] = t3 ? gc : 0.0f;
          d2[c] = w2 ? gc : 0.0f;
          d1[c] = w1 ? gc : 0.0f;
          d0[c] = w0 ? gc : 0.0f;
        }
      }
    }
  }
}

}  // namespace

void maxPoolGrad(const float* x, const float* dy, float* dx, const PoolDims& d) {
  const int C = d.channels;
  const int64_t imageSize = int64_t(d.inH) * d.inW * C;
  if (d.fH == 2 && d.fW == 2 && d.strideH == 2 && d.strideW == 2 && d.padTop == 0 && d.padLeft == 0) {
    // windows tile the image: each dx element belongs to at most one window
    if (d.outH * 2 != d.inH || d.outW * 2 != d.inW) std::memset(dx, 0, sizeof(float) * d.batch * imageSize);
    pool2x2Grad(x, dy, dx, d);
    return;
  }
  std::memset(dx, 0, sizeof(float) * d.batch * imageSize);
  std::vector<float> best(C);
  std::vector<int64_t> at(C);
  for (int b = 0; b < d.batch; b++) {
    for (int i = 0; i < d.outH; i++) {
      const int r0 = i * d.strideH - d.padTop;
      for (int j = 0; j < d.outW; j++) {
        const int c0 = j * d.strideW - d.padLeft;
        std::fill(at.begin(), at.end(), int64_t(-1));
        for (int p = std::max(0, -r0); p < d.fH && r0 + p < d.inH; p++) {
          for (int q = std::max(0, -c0); q < d.fW && c0 + q < d.inW; q++) {
            const int64_t off = b * imageSize + (int64_t(r0 + p) * d.inW + c0 + q) * C;
            for (int c = 0; c < C; c++) {
              const float v = x[off + c];
              if (at[c] < 0 || v > best[c]) {
                best[c] = v;
                at[c] = off + c;
              }
            }
          }
        }
        const float* g = dy + ((int64_t(b) * d.outH + i) * d.outW + j) * C;
        for (int c = 0; c < C; c++) {
          if (at[c] >= 0) dx[at[c]] += g[c];
        }
      }
    }
  }
}

void sumRows(const float* x, float* out, int64_t rows, int64_t cols) {
  std::vector<double> acc(size_t(cols), 0.0);
  for (int64_t r = 0; r < rows; r++) {
    const float* row = x + r * cols;
    for (int64_t c = 0; c < cols; c++) acc[size_t(c)] += row[c];
  }
  for (int64_t c = 0; c < cols; c++) out[c] = float(acc[size_t(c)]);
}

void sgdStep(const float* p, const float* grad, const float* buf, float* outP, float* outBuf, int64_t n, float lr,
             float momentum, float weightDecay) {
  for (int64_t i = 0; i < n; i++) {
    float g = grad[i];
    if (weightDecay != 0.0f) {
      const float decay = p[i] * weightDecay;
      g = g + decay;
    }
    float d = g;
    if (outBuf != nullptr) {
      if (buf != nullptr) {
        const float kept = buf[i] * momentum;
        d = kept + g;
      }
      outBuf[i] = d;
    }
    const float stepSize = d * lr;
    outP[i] = p[i] - stepSize;
  }
}

void releaseMemory() {
  scratchRelease();
  malloc_trim(0);
}

void setThreads(int n) { openblas_set_num_threads(n); }
int threads() { return openblas_get_num_threads(); }
const char* blasConfig() { return openblas_get_config(); }
const char* blasCore() { return openblas_get_corename(); }

}  // namespace fedsim
