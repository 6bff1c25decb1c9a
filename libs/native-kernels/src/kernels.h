// Training kernels over plain float32 row-major buffers (NHWC images, [kh,kw,in,out] filters).
// All arithmetic that matters goes through OpenBLAS sgemm; the rest is layout work. Every loop
// has a fixed order, and sgemm runs single-threaded, so results are reproducible bit for bit.
#pragma once
#include <cstdint>

namespace fedsim {

struct ConvDims {
  int32_t batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padTop, padLeft;
};

struct GemmDims {
  int32_t batch, m, n, k, transA, transB;
  int64_t strideA, strideB;  // elements between batch items; 0 broadcasts
};

// Convolutions through oneDNN when it is compiled in and `onednn` is set (else im2col + sgemm);
// returns whether oneDNN is now in use. Shapes oneDNN cannot run in NHWC use im2col regardless.
bool setConvEngine(bool onednn);
bool convEngineIsOnednn();
void gemm(const float* a, const float* b, float* c, const GemmDims& d);
void conv2dForward(const float* x, const float* w, float* y, const ConvDims& d);
void conv2dFilterGrad(const float* x, const float* dy, float* dw, const ConvDims& d);
void conv2dInputGrad(const float* dy, const float* w, float* dx, const ConvDims& d);
struct PoolDims {
  int32_t batch, inH, inW, channels, outH, outW, fH, fW, strideH, strideW, padTop, padLeft;
};

void maxPoolGrad(const float* x, const float* dy, float* dx, const PoolDims& d);
// out[c] = Σ_r x[r, c], rows summed in ascending order (double accumulators)
void sumRows(const float* x, float* out, int64_t rows, int64_t cols);
// One torch.optim.SGD step, element-wise, rounding after every operation exactly like the
// unfused tensor ops: g = grad + p·wd; d = momentum ? (buf ? buf·momentum + g : g) : g; p − d·lr.
void sgdStep(const float* p, const float* grad, const float* buf, float* outP, float* outBuf, int64_t n, float lr,
             float momentum, float weightDecay);
void biasActivation(float* y, const float* bias, int64_t rows, int32_t cols, bool relu);
// ReLU's gradient from the layer's output: out = y > 0 ? dy : 0
void reluGrad(const float* dy, const float* y, float* out, int64_t n);
// Frees this thread's im2col scratch and returns free heap pages to the system (malloc_trim):
// called between clients, so a long run's peak RSS is one client's, not the sum of fragments.
void releaseMemory();
void setThreads(int n);
int threads();
const char* blasConfig();
const char* blasCore();

}  // namespace fedsim
