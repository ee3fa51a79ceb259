/*
 * Shared helpers of wren's native addon: argument checks that throw TypeError, and errno
 * errors shaped like Node's own (code 'EPERM', errno -1, syscall 'setsockopt'), so nothing in
 * the addon ever aborts the process on a failed system call.
 */
#ifndef WREN_NATIVE_COMMON_H
#define WREN_NATIVE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/* Evaluate a napi call; on failure throw (if nothing is pending yet) and return NULL. */
#define NAPI_CALL(env, call)                                      \
  do {                                                            \
    napi_status status_ = (call);                                 \
    if (status_ != napi_ok) {                                     \
      wren_throw_napi_status((env), status_, #call);              \
      return NULL;                                                \
    }                                                             \
  } while (0)

void wren_throw_napi_status(napi_env env, napi_status status, const char *what);

/* An Error for a failed system call: message "<syscall> <CODE>: <strerror>[ (<detail>)]". */
napi_value wren_errno_error(napi_env env, const char *syscall, int err, const char *detail);
/* Throw wren_errno_error(...); returns NULL for `return wren_throw_errno(...)`. */
napi_value wren_throw_errno(napi_env env, const char *syscall, int err, const char *detail);

/* Argument readers: false after throwing a TypeError naming `what`. */
bool wren_get_int32(napi_env env, napi_value v, const char *what, int32_t *out);
bool wren_get_uint32(napi_env env, napi_value v, const char *what, uint32_t *out);
bool wren_get_bool(napi_env env, napi_value v, const char *what, bool *out);
/* UTF-8 string into buf (NUL-terminated); fails when it does not fit. */
bool wren_get_string(napi_env env, napi_value v, const char *what, char *buf, size_t size, size_t *len);
/* Bytes of a Buffer / any TypedArray / DataView, without copying. */
bool wren_get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len);
bool wren_get_function(napi_env env, napi_value v, const char *what);
/* The first `n` arguments of a call into argv (and the receiver into *self unless NULL); a
 * TypeError ERR_MISSING_ARGS showing `usage` when fewer were passed. */
bool wren_get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, napi_value *self, const char *usage);

/* Optional property of an options object: *present false when absent or undefined. */
bool wren_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present);

bool wren_set_uint32_prop(napi_env env, napi_value obj, const char *key, uint32_t v);
bool wren_set_bool_prop(napi_env env, napi_value obj, const char *key, bool v);

/* Call a JS callback from a libuv callback: handle scope + async context so that microtasks run
   and async_hooks see it; an exception thrown by the callback goes to 'uncaughtException'. */
void wren_make_callback(napi_env env, napi_async_context ctx, napi_ref recv, napi_ref fn, size_t argc, const napi_value *argv);

napi_value wren_init_netlink(napi_env env, napi_value exports);
napi_value wren_init_net(napi_env env, napi_value exports);

#endif
