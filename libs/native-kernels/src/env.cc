// Sets the process environment for real: a worker thread's process.env is a private copy, but
// OpenBLAS and libgomp read their settings with getenv() when they load (index.cjs).
#include <node_api.h>

#include <cstdlib>
#include <string>

namespace {

bool stringArg(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->resize(len + 1);
  napi_get_value_string_utf8(env, v, out->data(), len + 1, &len);
  out->resize(len);
  return true;
}

// swap(name, value | null) → the previous value or null; null unsets the variable
napi_value Swap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  std::string name;
  if (argc != 2 || !stringArg(env, argv[0], &name)) {
    napi_throw_type_error(env, "FEDSIM_NATIVE", "swapEnv(name, value | null)");
    return nullptr;
  }
  napi_value prev;
  const char* old = std::getenv(name.c_str());
  if (old) napi_create_string_utf8(env, old, NAPI_AUTO_LENGTH, &prev);
  else napi_get_null(env, &prev);
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_null || t == napi_undefined) {
    unsetenv(name.c_str());
  } else {
    std::string value;
    if (!stringArg(env, argv[1], &value)) {
      napi_throw_type_error(env, "FEDSIM_NATIVE", "swapEnv: value must be a string or null");
      return nullptr;
    }
    setenv(name.c_str(), value.c_str(), 1);
  }
  return prev;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "swapEnv", NAPI_AUTO_LENGTH, Swap, nullptr, &fn);
  napi_set_named_property(env, exports, "swapEnv", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
