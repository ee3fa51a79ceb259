/* wren's native addon: entry point. N-API only (ABI-stable across Node versions). */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  if (wren_init_netlink(env, exports) == NULL) return NULL;
  if (wren_init_net(env, exports) == NULL) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
