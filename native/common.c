#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void wren_throw_napi_status(napi_env env, napi_status status, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "wren native: %s failed (%s, status %d)", what,
           info != NULL && info->error_message != NULL ? info->error_message : "napi error", (int)status);
  napi_throw_error(env, "ERR_WREN_NATIVE", msg);
}

napi_value wren_errno_error(napi_env env, const char *syscall, int err, const char *detail) {
  /* strerrorname_np (glibc >= 2.32) gives the symbolic name; fall back to "E<number>". */
  char codebuf[24];
  const char *code = strerrorname_np(err);
  if (code == NULL) {
    snprintf(codebuf, sizeof codebuf, "E%d", err);
    code = codebuf;
  }
  char msg[384];
  if (detail != NULL && detail[0] != '\0')
    snprintf(msg, sizeof msg, "%s %s: %s (%s)", syscall, code, strerror(err), detail);
  else
    snprintf(msg, sizeof msg, "%s %s: %s", syscall, code, strerror(err));
  napi_value jmsg, jcode, jerr, jerrno, jsyscall;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok) return NULL;
  if (napi_create_error(env, jcode, jmsg, &jerr) != napi_ok) return NULL;
  /* Node's convention: errno negative (libuv style), code the symbolic name. */
  napi_create_int32(env, -err, &jerrno);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &jsyscall);
  napi_set_named_property(env, jerr, "errno", jerrno);
  napi_set_named_property(env, jerr, "syscall", jsyscall);
  return jerr;
}

napi_value wren_throw_errno(napi_env env, const char *syscall, int err, const char *detail) {
  napi_value e = wren_errno_error(env, syscall, err, detail);
  if (e != NULL) napi_throw(env, e);
  else napi_throw_error(env, NULL, syscall);
  return NULL;
}

static bool type_error(napi_env env, const char *what, const char *expected) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s must be %s", what, expected);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

static bool is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

bool wren_get_int32(napi_env env, napi_value v, const char *what, int32_t *out) {
  double d;
  if (!is_type(env, v, napi_number) || napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int32_t)d)
    return type_error(env, what, "a 32-bit integer");
  *out = (int32_t)d;
  return true;
}

bool wren_get_uint32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  double d;
  if (!is_type(env, v, napi_number) || napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 4294967295.0 ||
      d != (double)(uint32_t)d)
    return type_error(env, what, "an unsigned 32-bit integer");
  *out = (uint32_t)d;
  return true;
}

bool wren_get_bool(napi_env env, napi_value v, const char *what, bool *out) {
  if (!is_type(env, v, napi_boolean) || napi_get_value_bool(env, v, out) != napi_ok) return type_error(env, what, "a boolean");
  return true;
}

bool wren_get_string(napi_env env, napi_value v, const char *what, char *buf, size_t size, size_t *len) {
  size_t need = 0;
  if (!is_type(env, v, napi_string) || napi_get_value_string_utf8(env, v, NULL, 0, &need) != napi_ok)
    return type_error(env, what, "a string");
  if (need + 1 > size) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s is too long (%zu bytes, at most %zu)", what, need, size - 1);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &got) != napi_ok) return type_error(env, what, "a string");
  if (len != NULL) *len = got;
  return true;
}

bool wren_get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count = 0;
    napi_value ab;
    size_t off = 0;
    if (napi_get_typedarray_info(env, v, &type, &count, data, &ab, &off) != napi_ok) return type_error(env, what, "a Buffer");
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1; break;
    }
    *len = count * elem;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off = 0;
    if (napi_get_dataview_info(env, v, len, data, &ab, &off) != napi_ok) return type_error(env, what, "a Buffer");
    return true;
  }
  return type_error(env, what, "a Buffer, TypedArray or DataView");
}

bool wren_get_function(napi_env env, napi_value v, const char *what) {
  return is_type(env, v, napi_function) ? true : type_error(env, what, "a function");
}

bool wren_get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_value *self, const char *usage) {
  size_t argc = n;
  napi_status st = napi_get_cb_info(env, info, &argc, argv, self, NULL);
  if (st != napi_ok) {
    wren_throw_napi_status(env, st, "napi_get_cb_info");
    return false;
  }
  if (argc < n) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);
    return false;
  }
  return true;
}

bool wren_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present) {
  *present = false;
  if (obj == NULL || !is_type(env, obj, napi_object)) return true;
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return false;
  if (!has) return true;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return false;
  napi_valuetype t;
  if (napi_typeof(env, *out, &t) != napi_ok) return false;
  *present = t != napi_undefined;
  return true;
}

bool wren_set_uint32_prop(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value n;
  return napi_create_uint32(env, v, &n) == napi_ok && napi_set_named_property(env, obj, key, n) == napi_ok;
}

bool wren_set_bool_prop(napi_env env, napi_value obj, const char *key, bool v) {
  napi_value b;
  return napi_get_boolean(env, v, &b) == napi_ok && napi_set_named_property(env, obj, key, b) == napi_ok;
}

void wren_make_callback(napi_env env, napi_async_context ctx, napi_ref recv, napi_ref fn, size_t argc, const napi_value *argv) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value jrecv = NULL, jfn = NULL, result;
  if (recv != NULL) napi_get_reference_value(env, recv, &jrecv);
  if (jrecv == NULL) napi_get_undefined(env, &jrecv);
  if (fn != NULL) napi_get_reference_value(env, fn, &jfn);
  if (jfn != NULL) {
    napi_status st = napi_make_callback(env, ctx, jrecv, jfn, argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}
