// N-API surface of the kernels: every buffer is a Float32Array (typically a view of the tfjs
// wasm heap, so no copies are made) and the sizes come in one Int32Array.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "conv-onednn.h"
#include "kernels.h"

namespace {

bool fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, "FEDSIM_NATIVE", msg.c_str());
  return false;
}

template <typename T>
bool typedArray(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* length, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return fail(env, std::string(what) + ": expected a typed array");
  napi_typedarray_type type;
  void* raw = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, &ab, &offset) != napi_ok) return fail(env, std::string(what) + ": unreadable typed array");
  if (type != want) return fail(env, std::string(what) + (want == napi_float32_array ? ": expected a Float32Array" : ": expected an Int32Array"));
  *data = static_cast<T*>(raw);
  return true;
}

bool args(napi_env env, napi_callback_info info, size_t n, napi_value* out) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, out, nullptr, nullptr);
  if (argc != n) return fail(env, "expected " + std::to_string(n) + " arguments, got " + std::to_string(argc));
  return true;
}

enum class ConvOp { Forward, FilterGrad, InputGrad };

// Sizes are checked against the buffers: the buffers are views of the wasm heap, and a bad
// shape must fail loudly instead of writing over other tensors.
bool convArgs(napi_env env, napi_callback_info info, ConvOp op, const float** a, const float** b, float** out, fedsim::ConvDims* d) {
  napi_value v[4];
  if (!args(env, info, 4, v)) return false;
  float *pa, *pb;
  int32_t* dims;
  size_t la, lb, lo, ld;
  if (!typedArray(env, v[0], napi_float32_array, &pa, &la, "arg 0") || !typedArray(env, v[1], napi_float32_array, &pb, &lb, "arg 1") ||
      !typedArray(env, v[2], napi_float32_array, out, &lo, "arg 2") || !typedArray(env, v[3], napi_int32_array, &dims, &ld, "dims"))
    return false;
  if (ld != 13) return fail(env, "conv dims: expected 13 values");
  for (size_t i = 0; i < 13; i++) {
    if (dims[i] < 0 || (i < 11 && dims[i] == 0)) return fail(env, "conv dims: invalid value at index " + std::to_string(i));
  }
  *d = fedsim::ConvDims{dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], dims[7], dims[8], dims[9], dims[10], dims[11], dims[12]};
  const size_t image = size_t(d->batch) * d->inH * d->inW * d->inC;
  const size_t filter = size_t(d->kH) * d->kW * d->inC * d->outC;
  const size_t output = size_t(d->batch) * d->outH * d->outW * d->outC;
  size_t need[3];
  switch (op) {
    case ConvOp::Forward: need[0] = image; need[1] = filter; need[2] = output; break;
    case ConvOp::FilterGrad: need[0] = image; need[1] = output; need[2] = filter; break;
    case ConvOp::InputGrad: need[0] = output; need[1] = filter; need[2] = image; break;
  }
  if (la < need[0] || lb < need[1] || lo < need[2]) return fail(env, "conv: a buffer is smaller than its dims say");
  *a = pa;
  *b = pb;
  return true;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  const float *x, *w;
  float* y;
  fedsim::ConvDims d;
  if (convArgs(env, info, ConvOp::Forward, &x, &w, &y, &d)) fedsim::conv2dForward(x, w, y, d);
  return undefinedValue(env);
}

napi_value Conv2dFilterGrad(napi_env env, napi_callback_info info) {
  const float *x, *dy;
  float* dw;
  fedsim::ConvDims d;
  if (convArgs(env, info, ConvOp::FilterGrad, &x, &dy, &dw, &d)) fedsim::conv2dFilterGrad(x, dy, dw, d);
  return undefinedValue(env);
}

napi_value Conv2dInputGrad(napi_env env, napi_callback_info info) {
  const float *dy, *w;
  float* dx;
  fedsim::ConvDims d;
  if (convArgs(env, info, ConvOp::InputGrad, &dy, &w, &dx, &d)) fedsim::conv2dInputGrad(dy, w, dx, d);
  return undefinedValue(env);
}

// gemm(a, b, c, [batch, m, n, k, transA, transB, strideA, strideB])
napi_value Gemm(napi_env env, napi_callback_info info) {
  napi_value v[4];
  if (!args(env, info, 4, v)) return nullptr;
  float *a, *b, *c;
  int32_t* dims;
  size_t la, lb, lc, ld;
  if (!typedArray(env, v[0], napi_float32_array, &a, &la, "a") || !typedArray(env, v[1], napi_float32_array, &b, &lb, "b") ||
      !typedArray(env, v[2], napi_float32_array, &c, &lc, "c") || !typedArray(env, v[3], napi_int32_array, &dims, &ld, "dims"))
    return nullptr;
  if (ld != 8) {
    fail(env, "gemm dims: expected 8 values");
    return nullptr;
  }
  fedsim::GemmDims d{dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], dims[7]};
  if (d.batch <= 0 || d.m <= 0 || d.n <= 0 || d.k <= 0 || d.strideA < 0 || d.strideB < 0) {
    fail(env, "gemm dims: invalid values");
    return nullptr;
  }
  const size_t lastA = size_t(d.batch - 1) * size_t(d.strideA) + size_t(d.m) * d.k;
  const size_t lastB = size_t(d.batch - 1) * size_t(d.strideB) + size_t(d.k) * d.n;
  if (la < lastA || lb < lastB || lc < size_t(d.batch) * d.m * d.n) {
    fail(env, "gemm: a buffer is smaller than its dims say");
    return nullptr;
  }
  fedsim::gemm(a, b, c, d);
  return undefinedValue(env);
}

// biasActivation(y, bias | null, rows, cols, relu)
napi_value BiasActivation(napi_env env, napi_callback_info info) {
  napi_value v[5];
  if (!args(env, info, 5, v)) return nullptr;
  float *y, *bias = nullptr;
  size_t ly, lb;
  if (!typedArray(env, v[0], napi_float32_array, &y, &ly, "y")) return nullptr;
  napi_valuetype t;
  napi_typeof(env, v[1], &t);
  if (t != napi_null && !typedArray(env, v[1], napi_float32_array, &bias, &lb, "bias")) return nullptr;
  int64_t rows;
  int32_t cols;
  bool relu;
  napi_get_value_int64(env, v[2], &rows);
  napi_get_value_int32(env, v[3], &cols);
  napi_get_value_bool(env, v[4], &relu);
  if (size_t(rows) * size_t(cols) > ly) {
    fail(env, "biasActivation: rows·cols exceeds y");
    return nullptr;
  }
  fedsim::biasActivation(y, bias, rows, cols, relu);
  return undefinedValue(env);
}

// reluGrad(dy, y, out): out = y > 0 ? dy : 0
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  napi_value v[3];
  if (!args(env, info, 3, v)) return nullptr;
  float *dy, *y, *out;
  size_t ldy, ly, lo;
  if (!typedArray(env, v[0], napi_float32_array, &dy, &ldy, "dy") || !typedArray(env, v[1], napi_float32_array, &y, &ly, "y") ||
      !typedArray(env, v[2], napi_float32_array, &out, &lo, "out"))
    return nullptr;
  if (ly < ldy || lo < ldy) {
    fail(env, "reluGrad: y or out is smaller than dy");
    return nullptr;
  }
  fedsim::reluGrad(dy, y, out, int64_t(ldy));
  return undefinedValue(env);
}

// maxPoolGrad(x, dy, dx, dims[12])
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value v[4];
  if (!args(env, info, 4, v)) return nullptr;
  float *x, *dy, *dx;
  int32_t* dims;
  size_t lx, ldy, ldx, ld;
  if (!typedArray(env, v[0], napi_float32_array, &x, &lx, "x") || !typedArray(env, v[1], napi_float32_array, &dy, &ldy, "dy") ||
      !typedArray(env, v[2], napi_float32_array, &dx, &ldx, "dx") || !typedArray(env, v[3], napi_int32_array, &dims, &ld, "dims"))
    return nullptr;
  if (ld != 12) {
    fail(env, "pool dims: expected 12 values");
    return nullptr;
  }
  fedsim::PoolDims d{dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], dims[7], dims[8], dims[9], dims[10], dims[11]};
  const size_t image = size_t(d.batch) * d.inH * d.inW * d.channels;
  const size_t pooled = size_t(d.batch) * d.outH * d.outW * d.channels;
  if (d.batch < 0 || d.inH < 0 || d.inW < 0 || d.channels < 0 || d.outH < 0 || d.outW < 0 || d.fH <= 0 || d.fW <= 0 ||
      d.strideH <= 0 || d.strideW <= 0 || lx < image || ldx < image || ldy < pooled) {
    fail(env, "maxPoolGrad: invalid dims or a buffer smaller than its dims say");
    return nullptr;
  }
  fedsim::maxPoolGrad(x, dy, dx, d);
  return undefinedValue(env);
}

// sumRows(x, out, rows, cols)
napi_value SumRows(napi_env env, napi_callback_info info) {
  napi_value v[4];
  if (!args(env, info, 4, v)) return nullptr;
  float *x, *out;
  size_t lx, lo;
  if (!typedArray(env, v[0], napi_float32_array, &x, &lx, "x") || !typedArray(env, v[1], napi_float32_array, &out, &lo, "out")) return nullptr;
  int64_t rows, cols;
  napi_get_value_int64(env, v[2], &rows);
  napi_get_value_int64(env, v[3], &cols);
  if (rows < 0 || cols < 0 || size_t(rows * cols) > lx || size_t(cols) > lo) {
    fail(env, "sumRows: sizes exceed the buffers");
    return nullptr;
  }
  fedsim::sumRows(x, out, rows, cols);
  return undefinedValue(env);
}

bool optionalFloats(napi_env env, napi_value v, float** data, size_t* length, const char* what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) {
    *data = nullptr;
    *length = 0;
    return true;
  }
  return typedArray(env, v, napi_float32_array, data, length, what);
}

// sgdStep(p, grad, buf | null, outP, outBuf | null, lr, momentum, weightDecay)
napi_value SgdStep(napi_env env, napi_callback_info info) {
  napi_value v[8];
  if (!args(env, info, 8, v)) return nullptr;
  float *p, *g, *buf, *outP, *outBuf;
  size_t lp, lg, lb, lop, lob;
  if (!typedArray(env, v[0], napi_float32_array, &p, &lp, "p") || !typedArray(env, v[1], napi_float32_array, &g, &lg, "grad") ||
      !optionalFloats(env, v[2], &buf, &lb, "buf") || !typedArray(env, v[3], napi_float32_array, &outP, &lop, "outP") ||
      !optionalFloats(env, v[4], &outBuf, &lob, "outBuf"))
    return nullptr;
  if (lg < lp || lop < lp || (buf && lb < lp) || (outBuf && lob < lp)) {
    fail(env, "sgdStep: buffers of different sizes");
    return nullptr;
  }
  double lr, momentum, wd;
  napi_get_value_double(env, v[5], &lr);
  napi_get_value_double(env, v[6], &momentum);
  napi_get_value_double(env, v[7], &wd);
  fedsim::sgdStep(p, g, buf, outP, outBuf, int64_t(lp), float(lr), float(momentum), float(wd));
  return undefinedValue(env);
}

napi_value ReleaseMemory(napi_env env, napi_callback_info) {
  fedsim::releaseMemory();
  return undefinedValue(env);
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value v[1];
  if (!args(env, info, 1, v)) return nullptr;
  int32_t n;
  napi_get_value_int32(env, v[0], &n);
  fedsim::setThreads(n);
  return undefinedValue(env);
}

// setConvEngine(onednn: boolean) → whether oneDNN convolutions are now in use
napi_value SetConvEngine(napi_env env, napi_callback_info info) {
  napi_value v[1];
  if (!args(env, info, 1, v)) return nullptr;
  bool want = false;
  napi_get_value_bool(env, v[0], &want);
  napi_value r;
  napi_get_boolean(env, fedsim::setConvEngine(want), &r);
  return r;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value o, cfg, core, th, conv, impl;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, fedsim::blasConfig(), NAPI_AUTO_LENGTH, &cfg);
  napi_create_string_utf8(env, fedsim::blasCore(), NAPI_AUTO_LENGTH, &core);
  napi_create_int32(env, fedsim::threads(), &th);
  napi_set_named_property(env, o, "blasConfig", cfg);
  napi_set_named_property(env, o, "blasCore", core);
  napi_set_named_property(env, o, "threads", th);
  napi_create_string_utf8(env, fedsim::convEngineIsOnednn() ? "onednn" : "im2col", NAPI_AUTO_LENGTH, &conv);
  napi_set_named_property(env, o, "convEngine", conv);
  napi_create_string_utf8(env, fedsim::onednnLastImpl(), NAPI_AUTO_LENGTH, &impl);
  napi_set_named_property(env, o, "convImpl", impl);
  return o;
}

napi_value Init(napi_env env, napi_value exports) {
  // One BLAS thread per process: the simulator scales by running one worker per core, and a
  // fixed single-threaded sgemm keeps results bit-reproducible.
  fedsim::setThreads(1);
  const napi_property_descriptor props[] = {
      {"conv2dForward", nullptr, Conv2dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dFilterGrad", nullptr, Conv2dFilterGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dInputGrad", nullptr, Conv2dInputGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluGrad", nullptr, ReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasActivation", nullptr, BiasActivation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"releaseMemory", nullptr, ReleaseMemory, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setConvEngine", nullptr, SetConvEngine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
