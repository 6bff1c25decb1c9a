// Optional oneDNN convolutions (see conv-onednn.cc). Each returns false when oneDNN is not
// compiled in or cannot handle the shape in NHWC; the caller then uses im2col + sgemm.
#pragma once
#include "kernels.h"

namespace fedsim {

bool onednnAvailable();
// implementation name of the last convolution run through oneDNN on this thread (for logs)
const char* onednnLastImpl();
bool onednnConvForward(const float* x, const float* w, float* y, const ConvDims& d);
bool onednnConvInputGrad(const float* dy, const float* w, float* dx, const ConvDims& d);
bool onednnConvFilterGrad(const float* x, const float* dy, float* dw, const ConvDims& d);

}  // namespace fedsim
