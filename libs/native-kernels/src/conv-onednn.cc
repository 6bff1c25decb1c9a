// Convolutions through oneDNN (the library PyTorch's CPU convolutions use), compiled in only when
// libdnnl-dev is present (binding.gyp defines FEDSIM_ONEDNN). Activations stay in tfjs's NHWC and
// filters in [kh,kw,in,out] (oneDNN's "hwio"); only the filter is reordered into the blocked
// layout the JIT kernels want, which is small. Primitives are created once per shape and thread
// (JIT compilation costs milliseconds) and then reused for every step. oneDNN runs on one OpenMP
// thread here (the loader sets OMP_NUM_THREADS=1), so every reduction has a fixed order and the
// results are reproducible bit for bit on hosts with the same instruction set.
#include "conv-onednn.h"

#ifdef FEDSIM_ONEDNN

#include <oneapi/dnnl/dnnl.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fedsim {

namespace {

struct Runtime {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  bool ok = false;
  Runtime() {
    ok = dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
         dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success;
  }
  ~Runtime() {
    if (stream) dnnl_stream_destroy(stream);
    if (engine) dnnl_engine_destroy(engine);
  }
};

Runtime& runtime() {
  thread_local Runtime r;
  return r;
}

struct Memory {
  dnnl_memory_t m = nullptr;
  ~Memory() {
    if (m) dnnl_memory_destroy(m);
  }
};

struct Primitive {
  dnnl_primitive_t p = nullptr;
  ~Primitive() {
    if (p) dnnl_primitive_destroy(p);
  }
};

struct PrimitiveDesc {
  dnnl_primitive_desc_t pd = nullptr;
  ~PrimitiveDesc() {
    if (pd) dnnl_primitive_desc_destroy(pd);
  }
};

// One ready-to-run convolution of a fixed shape: the primitive, memory objects whose data
// handles are pointed at the caller's buffers on every call, and the reordered filter.
struct Plan {
  Primitive conv, filterReorder;
  Memory activations, gradient, userFilter, filter, scratch;
  std::vector<float> filterBuf;
  std::vector<uint8_t> scratchBuf;
  bool reorderFilter = false;
  std::string impl;
};

enum Op { kForward = 0, kFilterGrad = 1, kInputGrad = 2 };

using Key = std::array<int32_t, 14>;

Key keyOf(Op op, const ConvDims& d) {
  return {int32_t(op), d.batch, d.inH, d.inW, d.inC, d.outH, d.outW, d.outC, d.kH, d.kW, d.strideH, d.strideW, d.padTop, d.padLeft};
}

void initMd(dnnl_memory_desc_t* md, std::initializer_list<dnnl_dim_t> dims, dnnl_format_tag_t tag) {
  const std::vector<dnnl_dim_t> v(dims);
  dnnl_memory_desc_init_by_tag(md, int(v.size()), v.data(), dnnl_f32, tag);
}

bool makeMemory(Memory* m, const dnnl_memory_desc_t* md) {
  return dnnl_memory_create(&m->m, md, runtime().engine, DNNL_MEMORY_NONE) == dnnl_success;
}

// Filter in the layout the primitive chose; `toUser` reorders from it back to hwio (gradients).
bool prepareFilter(Plan* plan, const dnnl_memory_desc_t* userMd, const dnnl_memory_desc_t* chosenMd, bool toUser) {
  if (!makeMemory(&plan->userFilter, userMd)) return false;
  plan->reorderFilter = dnnl_memory_desc_equal(userMd, chosenMd) == 0;
  if (!plan->reorderFilter) return true;
  plan->filterBuf.resize(dnnl_memory_desc_get_size(chosenMd) / sizeof(float) + 16);
  if (dnnl_memory_create(&plan->filter.m, chosenMd, runtime().engine, plan->filterBuf.data()) != dnnl_success) return false;
  PrimitiveDesc rpd;
  const dnnl_memory_desc_t* from = toUser ? chosenMd : userMd;
  const dnnl_memory_desc_t* to = toUser ? userMd : chosenMd;
  if (dnnl_reorder_primitive_desc_create(&rpd.pd, from, runtime().engine, to, runtime().engine, nullptr) != dnnl_success) return false;
  return dnnl_primitive_create(&plan->filterReorder.p, rpd.pd) == dnnl_success;
}

bool prepareScratch(Plan* plan, const_dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t* md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  const size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
  if (bytes == 0) return true;
  plan->scratchBuf.resize(bytes);
  return dnnl_memory_create(&plan->scratch.m, md, runtime().engine, plan->scratchBuf.data()) == dnnl_success;
}

std::unique_ptr<Plan> makePlan(Op op, const ConvDims& d) {
  Runtime& rt = runtime();
  if (!rt.ok) return nullptr;
  dnnl_memory_desc_t src, dst, userW, anyW;
  initMd(&src, {d.batch, d.inC, d.inH, d.inW}, dnnl_nhwc);
  initMd(&dst, {d.batch, d.outC, d.outH, d.outW}, dnnl_nhwc);
  initMd(&userW, {d.outC, d.inC, d.kH, d.kW}, dnnl_hwio);
  initMd(&anyW, {d.outC, d.inC, d.kH, d.kW}, dnnl_format_tag_any);
  const dnnl_dims_t strides = {d.strideH, d.strideW};
  const dnnl_dims_t padL = {d.padTop, d.padLeft};
  const dnnl_dims_t padR = {(d.outH - 1) * d.strideH + d.kH - d.inH - d.padTop, (d.outW - 1) * d.strideW + d.kW - d.inW - d.padLeft};

  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return nullptr;
  dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  struct AttrGuard {
    dnnl_primitive_attr_t a;
    ~AttrGuard() { dnnl_primitive_attr_destroy(a); }
  } attrGuard{attr};

  // backward primitives need the forward primitive descriptor as a hint
  dnnl_convolution_desc_t fwd;
  if (dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &src, &anyW, nullptr, &dst, strides, padL,
                                         padR) != dnnl_success)
    return nullptr;
  PrimitiveDesc fwdPd;
  if (dnnl_primitive_desc_create(&fwdPd.pd, &fwd, attr, rt.engine, nullptr) != dnnl_success) return nullptr;

  auto plan = std::make_unique<Plan>();
  PrimitiveDesc bwdPd;
  const_dnnl_primitive_desc_t pd = fwdPd.pd;
  if (op == kInputGrad) {
    dnnl_convolution_desc_t bd;
    if (dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &anyW, &dst, strides, padL, padR) != dnnl_success ||
        dnnl_primitive_desc_create(&bwdPd.pd, &bd, attr, rt.engine, fwdPd.pd) != dnnl_success)
      return nullptr;
    pd = bwdPd.pd;
  } else if (op == kFilterGrad) {
    dnnl_convolution_desc_t bd;
    if (dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &src, &anyW, nullptr, &dst, strides, padL, padR) !=
            dnnl_success ||
        dnnl_primitive_desc_create(&bwdPd.pd, &bd, attr, rt.engine, fwdPd.pd) != dnnl_success)
      return nullptr;
    pd = bwdPd.pd;
  }
  // the activations must be in plain NHWC (the primitive may prefer a blocked layout; then it is
  // not used, since reordering whole activations every call would cost what it saves)
  const dnnl_query_t srcQuery = op == kInputGrad ? dnnl_query_diff_src_md : dnnl_query_src_md;
  const dnnl_query_t dstQuery = op == kForward ? dnnl_query_dst_md : dnnl_query_diff_dst_md;
  const dnnl_query_t wQuery = op == kFilterGrad ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
  if (!dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, srcQuery, 0), &src) ||
      !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dstQuery, 0), &dst))
    return nullptr;
  const dnnl_memory_desc_t* chosenW = dnnl_primitive_desc_query_md(pd, wQuery, 0);
  if (!makeMemory(&plan->activations, &src) || !makeMemory(&plan->gradient, &dst) ||
      !prepareFilter(plan.get(), &userW, chosenW, op == kFilterGrad) || !prepareScratch(plan.get(), pd))
    return nullptr;
  const char* impl = nullptr;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  plan->impl = impl ? impl : "?";
  if (dnnl_primitive_create(&plan->conv.p, pd) != dnnl_success) return nullptr;
  return plan;
}

struct Cache {
  std::map<Key, std::unique_ptr<Plan>> plans;
  std::string lastImpl;
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

// Enough for a model's layers at the training batch and the odd last batches; evaluation's
// per-client remainders would otherwise add a plan (JIT code, scratch) for every batch size.
constexpr size_t kMaxPlans = 48;

Plan* planFor(Op op, const ConvDims& d) {
  Cache& c = cache();
  const Key key = keyOf(op, d);
  auto it = c.plans.find(key);
  if (it == c.plans.end()) {
    if (c.plans.size() >= kMaxPlans) c.plans.clear();
    it = c.plans.emplace(key, makePlan(op, d)).first;  // null is cached too: no retry per call
  }
  if (it->second) c.lastImpl = it->second->impl;
  return it->second.get();
}

bool reorder(Plan* p, dnnl_memory_t from, dnnl_memory_t to) {
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  return dnnl_primitive_execute(p->filterReorder.p, runtime().stream, 2, args) == dnnl_success;
}

bool run(Plan* p, std::initializer_list<dnnl_exec_arg_t> list) {
  std::vector<dnnl_exec_arg_t> args(list);
  if (p->scratch.m) args.push_back({DNNL_ARG_SCRATCHPAD, p->scratch.m});
  if (dnnl_primitive_execute(p->conv.p, runtime().stream, int(args.size()), args.data()) != dnnl_success) return false;
  return dnnl_stream_wait(runtime().stream) == dnnl_success;
}

}  // namespace

bool onednnAvailable() { return runtime().ok; }

const char* onednnLastImpl() { return cache().lastImpl.c_str(); }

bool onednnConvForward(const float* x, const float* w, float* y, const ConvDims& d) {
  Plan* p = planFor(kForward, d);
  if (!p) return false;
  dnnl_memory_set_data_handle(p->activations.m, const_cast<float*>(x));
  dnnl_memory_set_data_handle(p->userFilter.m, const_cast<float*>(w));
  dnnl_memory_set_data_handle(p->gradient.m, y);
  if (p->reorderFilter && !reorder(p, p->userFilter.m, p->filter.m)) return false;
  dnnl_memory_t filter = p->reorderFilter ? p->filter.m : p->userFilter.m;
  return run(p, {{DNNL_ARG_SRC, p->activations.m}, {DNNL_ARG_WEIGHTS, filter}, {DNNL_ARG_DST, p->gradient.m}});
}

bool onednnConvInputGrad(const float* dy, const float* w, float* dx, const ConvDims& d) {
  Plan* p = planFor(kInputGrad, d);
  if (!p) return false;
  dnnl_memory_set_data_handle(p->activations.m, dx);
  dnnl_memory_set_data_handle(p->userFilter.m, const_cast<float*>(w));
  dnnl_memory_set_data_handle(p->gradient.m, const_cast<float*>(dy));
  if (p->reorderFilter && !reorder(p, p->userFilter.m, p->filter.m)) return false;
  dnnl_memory_t filter = p->reorderFilter ? p->filter.m : p->userFilter.m;
  return run(p, {{DNNL_ARG_DIFF_SRC, p->activations.m}, {DNNL_ARG_WEIGHTS, filter}, {DNNL_ARG_DIFF_DST, p->gradient.m}});
}

bool onednnConvFilterGrad(const float* x, const float* dy, float* dw, const ConvDims& d) {
  Plan* p = planFor(kFilterGrad, d);
  if (!p) return false;
  dnnl_memory_set_data_handle(p->activations.m, const_cast<float*>(x));
  dnnl_memory_set_data_handle(p->userFilter.m, dw);
  dnnl_memory_set_data_handle(p->gradient.m, const_cast<float*>(dy));
  dnnl_memory_t filter = p->reorderFilter ? p->filter.m : p->userFilter.m;
  if (!run(p, {{DNNL_ARG_SRC, p->activations.m}, {DNNL_ARG_DIFF_WEIGHTS, filter}, {DNNL_ARG_DIFF_DST, p->gradient.m}})) return false;
  return !p->reorderFilter || (reorder(p, p->filter.m, p->userFilter.m) && dnnl_stream_wait(runtime().stream) == dnnl_success);
}

}  // namespace fedsim

#else

namespace fedsim {
bool onednnAvailable() { return false; }
const char* onednnLastImpl() { return ""; }
bool onednnConvForward(const float*, const float*, float*, const ConvDims&) { return false; }
bool onednnConvInputGrad(const float*, const float*, float*, const ConvDims&) { return false; }
bool onednnConvFilterGrad(const float*, const float*, float*, const ConvDims&) { return false; }
}  // namespace fedsim

#endif
