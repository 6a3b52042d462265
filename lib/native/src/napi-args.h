// Reading a binding's arguments from JavaScript: each reader returns false, with a JavaScript error thrown, when an
// argument is not what it should be, and the binding then returns at once.
#pragma once

#define NAPI_VERSION 8
#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace gpt {

// Throws a JavaScript error; returns false.
bool Throw(napi_env env, const char* message);
// The call's arguments into argv; false unless there are exactly n (usage: the error's message).
bool GetArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv, const char* usage);
bool GetNumber(napi_env env, napi_value value, double* out);
bool GetFloats(napi_env env, napi_value value, float** data, size_t* length);
bool GetInts(napi_env env, napi_value value, int32_t** data, size_t* length);
// argv[0 .. count) as whole numbers >= 0.
bool GetSizes(napi_env env, napi_value* argv, int count, long* out);
// argv[0 .. count) as Float32Arrays, each of the length in `lengths` (-1: any); `what`: the error's message.
bool GetFloatArgs(napi_env env, napi_value* argv, int count, float** out, const long* lengths, const char* what);
// Whether `value` is undefined or null (an optional argument left out).
bool IsAbsent(napi_env env, napi_value value);

}  // namespace gpt
