// Reading a binding's arguments (napi-args.h).
#include "napi-args.h"

#include <cmath>

namespace gpt {

bool Throw(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return false;
}

bool GetArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc == n || Throw(env, usage);
}

bool GetNumber(napi_env env, napi_value value, double* out) {
  if (napi_get_value_double(env, value, out) != napi_ok) return Throw(env, "expected a number");
  return true;
}

namespace {

// A typed array of the type expected; `error`: the message when it is not.
bool GetTyped(napi_env env, napi_value value, napi_typedarray_type expected, const char* error, void** data, size_t* length) {
  bool isTyped = false;
  napi_is_typedarray(env, value, &isTyped);
  if (!isTyped) return Throw(env, error);
  napi_typedarray_type type;
  void* raw = nullptr;
  napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr);
  if (type != expected) return Throw(env, error);
  *data = raw;
  return true;
}

}  // namespace

bool GetFloats(napi_env env, napi_value value, float** data, size_t* length) {
  void* raw = nullptr;
  if (!GetTyped(env, value, napi_float32_array, "expected a Float32Array", &raw, length)) return false;
  *data = static_cast<float*>(raw);
  return true;
}

bool GetInts(napi_env env, napi_value value, int32_t** data, size_t* length) {
  void* raw = nullptr;
  if (!GetTyped(env, value, napi_int32_array, "expected an Int32Array", &raw, length)) return false;
  *data = static_cast<int32_t*>(raw);
  return true;
}

bool GetSizes(napi_env env, napi_value* argv, int count, long* out) {
  for (int i = 0; i < count; i++) {
    double d;
    if (!GetNumber(env, argv[i], &d)) return false;
    if (!(d >= 0) || d != std::floor(d)) return Throw(env, "expected a whole number >= 0");
    out[i] = long(d);
  }
  return true;
}

bool GetFloatArgs(napi_env env, napi_value* argv, int count, float** out, const long* lengths, const char* what) {
  for (int i = 0; i < count; i++) {
    size_t n;
    if (!GetFloats(env, argv[i], &out[i], &n)) return false;
    if (lengths[i] >= 0 && long(n) != lengths[i]) return Throw(env, what);
  }
  return true;
}

bool IsAbsent(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  return type == napi_undefined || type == napi_null;
}

}  // namespace gpt
