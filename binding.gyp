{
  "targets": [
    {
      "target_name": "wren_native",
      "sources": ["native/addon.c", "native/common.c", "native/netlink.c", "native/net.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror=implicit-function-declaration", "-O2"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
