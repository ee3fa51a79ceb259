/*
 * Socket options and calls Node has no API for:
 * - sdNotify: one datagram to systemd's $NOTIFY_SOCKET (a path, or '@' for an abstract name);
 * - TCP MD5 signatures (RFC 2385), GTSM (RFC 5082: IP_MINTTL / IPV6_MINHOPCOUNT with TTL 255),
 *   applied to the fd of a Node socket or server (`handle.fd`);
 * - the TTL of the SYN that opened an accepted connection (TCP_SAVE_SYN on the listener,
 *   TCP_SAVED_SYN on the accepted socket), so GTSM can judge a connection before reading from it;
 * - tcpConnect: an outgoing connection whose options are set before the SYN is sent (the MD5 key
 *   must be in place before connect(), or the SYN goes out unsigned and the peer drops it). The
 *   connect runs non-blocking here, completion is awaited with uv_poll, and the connected fd is
 *   handed to JS for `new net.Socket({ fd })`.
 * The address family of an fd is read from the socket (SO_DOMAIN): an AF_INET6 socket serving
 * IPv4 peers (dual-stack) gets v4-mapped keys and both IPv4 and IPv6 hop limits.
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#define MAX_ADDR_TEXT 64 /* longest IPv6 text is 45; zones are not supported */

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} sockaddr_any;

/* Parse an IPv4 or IPv6 literal; false (TypeError thrown) otherwise. */
static bool get_address(napi_env env, napi_value v, const char *what, uint16_t port, sockaddr_any *out, socklen_t *len) {
  char text[MAX_ADDR_TEXT];
  if (!wren_get_string(env, v, what, text, sizeof text, NULL)) return false;
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, text, &out->in4.sin_addr) == 1) {
    out->in4.sin_family = AF_INET;
    out->in4.sin_port = htons(port);
    *len = sizeof out->in4;
    return true;
  }
  if (inet_pton(AF_INET6, text, &out->in6.sin6_addr) == 1) {
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_port = htons(port);
    *len = sizeof out->in6;
    return true;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be an IPv4 or IPv6 address", what);
  napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", msg);
  return false;
}

/* An IPv4 address as the v4-mapped IPv6 address a dual-stack socket sees its peer as. */
static void map_v4(sockaddr_any *a) {
  struct in_addr v4 = a->in4.sin_addr;
  uint16_t port = a->in4.sin_port;
  memset(a, 0, sizeof *a);
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = port;
  a->in6.sin6_addr.s6_addr[10] = 0xff;
  a->in6.sin6_addr.s6_addr[11] = 0xff;
  memcpy(&a->in6.sin6_addr.s6_addr[12], &v4, 4);
}

static int socket_family(int fd, int *family) {
  socklen_t len = sizeof *family;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &len);
}

static int apply_md5(int fd, int family, const sockaddr_any *peer, const void *key, size_t keylen) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  sockaddr_any a = *peer;
  if (family == AF_INET6 && a.sa.sa_family == AF_INET) map_v4(&a);
  if (family == AF_INET && a.sa.sa_family != AF_INET) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  memcpy(&sig.tcpm_addr, &a, a.sa.sa_family == AF_INET ? sizeof a.in4 : sizeof a.in6);
  sig.tcpm_keylen = (uint16_t)keylen; /* 0 removes the key for this peer */
  if (keylen > 0) memcpy(sig.tcpm_key, key, keylen);
  int r = setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig);
  int err = errno;
  /* Wipe the key copy off the stack. */
  explicit_bzero(&sig, sizeof sig);
  errno = err;
  return r;
}

/* IPv4 option always (it also governs v4-mapped traffic on a dual-stack socket); the IPv6 one
   too on AF_INET6 sockets. Returns the name of the failing option or NULL. */
static const char *apply_hops(int fd, int family, int v4opt, int v6opt, int value, const char *v4name, const char *v6name) {
  if (setsockopt(fd, IPPROTO_IP, v4opt, &value, sizeof value) < 0) return v4name;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, v6opt, &value, sizeof value) < 0) return v6name;
  return NULL;
}

static bool get_fd(napi_env env, napi_value v, int *fd, int *family) {
  int32_t n;
  if (!wren_get_int32(env, v, "fd", &n)) return false;
  if (n < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fd must be >= 0");
    return false;
  }
  *fd = n;
  if (socket_family(n, family) < 0) {
    wren_throw_errno(env, "getsockopt", errno, "SO_DOMAIN");
    return false;
  }
  if (*family != AF_INET && *family != AF_INET6) {
    wren_throw_errno(env, "getsockopt", EAFNOSUPPORT, "not an IPv4/IPv6 socket");
    return false;
  }
  return true;
}

static bool get_key(napi_env env, napi_value v, void **key, size_t *len) {
  if (!wren_get_bytes(env, v, "key", key, len)) return false;
  if (*len > TCP_MD5SIG_MAXKEYLEN) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "TCP MD5 key is longer than 80 bytes");
    return false;
  }
  return true;
}

/* setTcpMd5(fd, address, key): key of length 0 removes the peer's key. */
static napi_value js_set_tcp_md5(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!wren_get_args(env, info, 3, argv, NULL, "setTcpMd5(fd, address, key)")) return NULL;
  int fd, family;
  sockaddr_any peer;
  socklen_t plen;
  void *key;
  size_t keylen;
  if (!get_fd(env, argv[0], &fd, &family) || !get_address(env, argv[1], "address", 0, &peer, &plen) ||
      !get_key(env, argv[2], &key, &keylen))
    return NULL;
  if (apply_md5(fd, family, &peer, key, keylen) < 0) return wren_throw_errno(env, "setsockopt", errno, "TCP_MD5SIG");
  return NULL;
}

static napi_value set_hops_common(napi_env env, napi_callback_info info, bool min) {
  napi_value argv[2];
  if (!wren_get_args(env, info, 2, argv, NULL, min ? "setMinTtl(fd, hops)" : "setTtl(fd, ttl)")) return NULL;
  int fd, family;
  int32_t v;
  if (!get_fd(env, argv[0], &fd, &family) || !wren_get_int32(env, argv[1], min ? "hops" : "ttl", &v)) return NULL;
  /* IP_MINTTL 0 disables the check; a TTL of 0 would make packets undeliverable. */
  if (v < (min ? 0 : 1) || v > 255) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", min ? "hops must be 0..255" : "ttl must be 1..255");
    return NULL;
  }
  const char *bad = min ? apply_hops(fd, family, IP_MINTTL, IPV6_MINHOPCOUNT, v, "IP_MINTTL", "IPV6_MINHOPCOUNT")
                        : apply_hops(fd, family, IP_TTL, IPV6_UNICAST_HOPS, v, "IP_TTL", "IPV6_UNICAST_HOPS");
  if (bad != NULL) return wren_throw_errno(env, "setsockopt", errno, bad);
  return NULL;
}

static napi_value js_set_min_ttl(napi_env env, napi_callback_info info) { return set_hops_common(env, info, true); }
static napi_value js_set_ttl(napi_env env, napi_callback_info info) { return set_hops_common(env, info, false); }

/* getHopOptions(fd) -> { ttl, minTtl, hopLimit?, minHopCount? }: read back for checks. */
static napi_value js_get_hop_options(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!wren_get_args(env, info, 1, argv, NULL, "getHopOptions(fd)")) return NULL;
  int fd, family;
  if (!get_fd(env, argv[0], &fd, &family)) return NULL;
  struct {
    int level, opt;
    const char *name, *key;
  } opts[] = {
      {IPPROTO_IP, IP_TTL, "IP_TTL", "ttl"},
      {IPPROTO_IP, IP_MINTTL, "IP_MINTTL", "minTtl"},
      {IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", "hopLimit"},
      {IPPROTO_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT", "minHopCount"},
  };
  napi_value out;
  NAPI_CALL(env, napi_create_object(env, &out));
  size_t n = family == AF_INET6 ? 4 : 2;
  for (size_t i = 0; i < n; i++) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, opts[i].level, opts[i].opt, &v, &len) < 0) return wren_throw_errno(env, "getsockopt", errno, opts[i].name);
    napi_value jv;
    NAPI_CALL(env, napi_create_int32(env, v, &jv));
    NAPI_CALL(env, napi_set_named_property(env, out, opts[i].key, jv));
  }
  return out;
}

/* setSaveSyn(fd, on): TCP_SAVE_SYN on a listening socket. The kernel then keeps the headers of
   each SYN it answers and hands them to the accepted socket, which is the only place the SYN's TTL
   can be read after accept(). Value 1: IP + TCP headers, no link-layer header. */
static napi_value js_set_save_syn(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!wren_get_args(env, info, 2, argv, NULL, "setSaveSyn(fd, on)")) return NULL;
  int fd, family;
  bool on;
  if (!get_fd(env, argv[0], &fd, &family) || !wren_get_bool(env, argv[1], "on", &on)) return NULL;
  int v = on ? 1 : 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &v, sizeof v) < 0) return wren_throw_errno(env, "setsockopt", errno, "TCP_SAVE_SYN");
  return NULL;
}

/* Room for an IPv6 header with extension headers and a TCP header with the longest options; the
   kernel reports EINVAL (and the length it needs) for anything larger. */
#define SAVED_SYN_MAX 1024

/* savedSynTtl(fd) -> number | null: the TTL (IPv4) or hop limit (IPv6) of the SYN that opened an
   accepted connection, as it arrived here. null when no SYN was saved (the listener had no
   TCP_SAVE_SYN when it came, or a SYN cookie completed the handshake) or it was read already: the
   kernel frees it on the first read. The version nibble decides, not the socket family: an IPv4
   client of a dual-stack socket arrives as an IPv4 SYN. */
static napi_value js_saved_syn_ttl(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!wren_get_args(env, info, 1, argv, NULL, "savedSynTtl(fd)")) return NULL;
  int fd, family;
  if (!get_fd(env, argv[0], &fd, &family)) return NULL;
  uint8_t buf[SAVED_SYN_MAX];
  socklen_t len = sizeof buf;
  if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, buf, &len) < 0) return wren_throw_errno(env, "getsockopt", errno, "TCP_SAVED_SYN");
  napi_value out;
  if (len == 0) {
    NAPI_CALL(env, napi_get_null(env, &out));
    return out;
  }
  int ttl;
  unsigned version = buf[0] >> 4;
  if (version == 4 && len >= 20) ttl = buf[8];       /* RFC 791: Time to Live */
  else if (version == 6 && len >= 40) ttl = buf[7];  /* RFC 8200 §3: Hop Limit */
  else return wren_throw_errno(env, "getsockopt", EPROTO, "TCP_SAVED_SYN: not an IPv4 or IPv6 header");
  NAPI_CALL(env, napi_create_int32(env, ttl, &out));
  return out;
}

/* sdNotify(socketPath, message): one datagram, as sd_notify(3) sends it. */
static napi_value js_sd_notify(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!wren_get_args(env, info, 2, argv, NULL, "sdNotify(socketPath, message)")) return NULL;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  char path[sizeof sun.sun_path + 1];
  size_t plen = 0;
  if (!wren_get_string(env, argv[0], "socketPath", path, sizeof path, &plen)) return NULL;
  void *msg;
  size_t mlen;
  if (!wren_get_bytes(env, argv[1], "message", &msg, &mlen)) return NULL;
  if (plen < 2 || (path[0] != '/' && path[0] != '@')) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "socketPath must be an absolute path or start with '@'");
    return NULL;
  }
  sun.sun_family = AF_UNIX;
  socklen_t alen;
  if (path[0] == '@') {
    /* Abstract namespace: leading NUL, the name is exactly the remaining bytes (no terminator). */
    if (plen > sizeof sun.sun_path) goto too_long;
    sun.sun_path[0] = '\0';
    memcpy(sun.sun_path + 1, path + 1, plen - 1);
    alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
  } else {
    if (plen >= sizeof sun.sun_path) goto too_long;
    memcpy(sun.sun_path, path, plen);
    alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return wren_throw_errno(env, "socket", errno, "AF_UNIX");
  ssize_t n;
  do {
    /* MSG_NOSIGNAL: a vanished listener must not raise SIGPIPE in the daemon. */
    n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n < 0) return wren_throw_errno(env, "sendto", err, path);
  return NULL;
too_long:
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "socketPath is longer than sun_path");
  return NULL;
}

/* --- tcpConnect ------------------------------------------------------------------------------ */

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t poll;
  bool poll_started, uv_closed, finalized, done;
  napi_ref callback;
  napi_ref self_ref;
  napi_async_context async_ctx;
} tc_req;

static void tc_release_js(tc_req *r) {
  if (r->finalized) return;
  if (r->async_ctx != NULL) napi_async_destroy(r->env, r->async_ctx);
  r->async_ctx = NULL;
  if (r->callback != NULL) napi_delete_reference(r->env, r->callback);
  if (r->self_ref != NULL) napi_delete_reference(r->env, r->self_ref);
  r->callback = NULL;
  r->self_ref = NULL;
}

static void tc_on_uv_closed(uv_handle_t *h) {
  tc_req *r = h->data;
  r->uv_closed = true;
  if (r->finalized) free(r);
  else tc_release_js(r);
}

/* Stop watching; close the fd unless it was handed to JS. */
static void tc_finish(tc_req *r, bool close_fd) {
  if (r->done) return;
  r->done = true;
  if (r->poll_started) {
    /* uv_close also removes the fd from epoll at once, before JS wraps the same fd. */
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, tc_on_uv_closed);
  }
  if (close_fd && r->fd >= 0) close(r->fd);
  r->fd = -1;
}

static void tc_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tc_req *r = data;
  r->finalized = true;
  if (!r->poll_started || r->uv_closed) {
    if (!r->done && r->fd >= 0) close(r->fd);
    free(r);
    return;
  }
  tc_finish(r, true);
}

static void tc_on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  tc_req *r = h->data;
  if (r->done || r->finalized) return;
  int fd = r->fd;
  int err = 0;
  socklen_t len = sizeof err;
  /* The outcome of a non-blocking connect is in SO_ERROR, whether libuv saw it as writable or as
     an error status (EPOLLERR on a refused or reset connection). */
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0 && status < 0) {
    sockaddr_any peer;
    socklen_t plen = sizeof peer;
    if (getpeername(fd, &peer.sa, &plen) < 0) err = errno == ENOTCONN ? ECONNREFUSED : errno;
  }
  napi_ref cb = r->callback;
  r->callback = NULL; /* released below, after the call */
  tc_finish(r, err != 0);
  napi_handle_scope scope;
  if (napi_open_handle_scope(r->env, &scope) != napi_ok) return;
  napi_value argv[2];
  if (err != 0) {
    argv[0] = wren_errno_error(r->env, "connect", err, NULL);
    napi_get_undefined(r->env, &argv[1]);
  } else {
    napi_get_null(r->env, &argv[0]);
    napi_create_int32(r->env, fd, &argv[1]);
  }
  if (argv[0] != NULL) wren_make_callback(r->env, r->async_ctx, r->self_ref, cb, 2, argv);
  napi_close_handle_scope(r->env, scope);
  if (cb != NULL) napi_delete_reference(r->env, cb);
}

static bool opt_int(napi_env env, napi_value opts, const char *key, int32_t *out, bool *present) {
  napi_value v;
  if (!wren_get_prop(env, opts, key, &v, present)) return false;
  return !*present || wren_get_int32(env, v, key, out);
}

static napi_value tc_cancel(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a connect request");
    return NULL;
  }
  tc_finish((tc_req *)data, true);
  return NULL;
}

/*
 * tcpConnect({ address, port, localAddress?, localPort?, md5Key?, ttl?, minTtl? }, cb(err, fd))
 * -> { cancel() }. Options are applied, then bind, then a non-blocking connect.
 */
static napi_value js_tcp_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!wren_get_args(env, info, 2, argv, NULL, "tcpConnect(options, callback)") || !wren_get_function(env, argv[1], "callback")) return NULL;
  napi_value opts = argv[0], v;
  bool present = false;
  int32_t port = 0, lport = 0, ttl = 0, minttl = 0;
  bool has_lport = false, has_ttl = false, has_minttl = false, has_port = false;
  if (!opt_int(env, opts, "port", &port, &has_port)) return NULL;
  if (!has_port || port < 1 || port > 65535) {
    napi_throw_range_error(env, "ERR_SOCKET_BAD_PORT", "port must be 1..65535");
    return NULL;
  }
  if (!opt_int(env, opts, "localPort", &lport, &has_lport) || !opt_int(env, opts, "ttl", &ttl, &has_ttl) ||
      !opt_int(env, opts, "minTtl", &minttl, &has_minttl))
    return NULL;
  if ((has_lport && (lport < 0 || lport > 65535)) || (has_ttl && (ttl < 1 || ttl > 255)) ||
      (has_minttl && (minttl < 0 || minttl > 255))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "localPort 0..65535, ttl 1..255, minTtl 0..255");
    return NULL;
  }
  sockaddr_any dst, src;
  socklen_t dlen, slen = 0;
  if (!wren_get_prop(env, opts, "address", &v, &present)) return NULL;
  if (!present) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "options.address is required");
    return NULL;
  }
  if (!get_address(env, v, "address", (uint16_t)port, &dst, &dlen)) return NULL;
  bool has_src = false;
  if (!wren_get_prop(env, opts, "localAddress", &v, &has_src)) return NULL;
  if (has_src && !get_address(env, v, "localAddress", (uint16_t)lport, &src, &slen)) return NULL;
  if (has_src && src.sa.sa_family != dst.sa.sa_family) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "localAddress and address differ in family");
    return NULL;
  }
  void *key = NULL;
  size_t keylen = 0;
  bool has_key = false;
  if (!wren_get_prop(env, opts, "md5Key", &v, &has_key)) return NULL;
  if (has_key && !get_key(env, v, &key, &keylen)) return NULL;

  int family = dst.sa.sa_family;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return wren_throw_errno(env, "socket", errno, NULL);
  const char *failed = NULL;
  const char *detail = NULL;
  if (has_ttl && (detail = apply_hops(fd, family, IP_TTL, IPV6_UNICAST_HOPS, ttl, "IP_TTL", "IPV6_UNICAST_HOPS")) != NULL)
    failed = "setsockopt";
  else if (has_minttl &&
           (detail = apply_hops(fd, family, IP_MINTTL, IPV6_MINHOPCOUNT, minttl, "IP_MINTTL", "IPV6_MINHOPCOUNT")) != NULL)
    failed = "setsockopt";
  else if (keylen > 0 && apply_md5(fd, family, &dst, key, keylen) < 0) {
    failed = "setsockopt";
    detail = "TCP_MD5SIG";
  } else if (has_src && bind(fd, &src.sa, slen) < 0)
    failed = "bind";
  else if (connect(fd, &dst.sa, dlen) < 0 && errno != EINPROGRESS)
    failed = "connect";
  if (failed != NULL) {
    int err = errno;
    close(fd);
    return wren_throw_errno(env, failed, err, detail);
  }

  tc_req *r = calloc(1, sizeof *r);
  if (r == NULL) {
    close(fd);
    return wren_throw_errno(env, "malloc", ENOMEM, NULL);
  }
  r->env = env;
  r->fd = fd;
  napi_value handle;
  napi_property_descriptor cancel = {"cancel", NULL, tc_cancel, NULL, NULL, NULL, napi_default_method, NULL};
  if (napi_create_object(env, &handle) != napi_ok || napi_define_properties(env, handle, 1, &cancel) != napi_ok ||
      napi_wrap(env, handle, r, tc_finalize, NULL, NULL) != napi_ok) {
    close(fd);
    free(r);
    wren_throw_napi_status(env, napi_generic_failure, "tcpConnect handle");
    return NULL;
  }
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "wren:tcpConnect", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_async_init(env, handle, name, &r->async_ctx));
  NAPI_CALL(env, napi_create_reference(env, argv[1], 1, &r->callback));
  NAPI_CALL(env, napi_create_reference(env, handle, 1, &r->self_ref));
  uv_loop_t *loop = NULL;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc == 0) {
    r->poll.data = r;
    r->poll_started = true;
    rc = uv_poll_start(&r->poll, UV_WRITABLE, tc_on_poll);
  }
  if (rc != 0) {
    tc_finish(r, true);
    if (!r->poll_started) tc_release_js(r);
    return wren_throw_errno(env, "uv_poll_start", -rc, NULL);
  }
  return handle;
}

napi_value wren_init_net(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"sdNotify", NULL, js_sd_notify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTcpMd5", NULL, js_set_tcp_md5, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMinTtl", NULL, js_set_min_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTtl", NULL, js_set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getHopOptions", NULL, js_get_hop_options, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setSaveSyn", NULL, js_set_save_syn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"savedSynTtl", NULL, js_saved_syn_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnect", NULL, js_tcp_connect, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  return exports;
}
