/*
 * NetlinkSocket: a netlink socket read through libuv's uv_poll on Node's own event loop.
 *
 * Why not the `netlink` package: in 0.3.0 an overrun (ENOBUFS sets sk_err, epoll reports
 * EPOLLERR, libuv's uv_poll turns that into status UV_EBADF) makes it build an error object with
 * a NULL syscall name, which aborts the process. Here that status is expected: SO_ERROR fetches
 * and clears the real error, an ENOBUFS becomes an 'overrun' callback, and polling restarts.
 *
 * Reads: every readable event drains up to `maxDatagramsPerRead` datagrams with MSG_DONTWAIT
 * into one arena, and hands them to JS as one Buffer of concatenated datagrams. Each netlink
 * datagram is a whole number of 4-byte aligned messages, so the concatenation is itself a valid
 * message stream and JS splits it with one loop. Writes: send() is one sendto() of any number of
 * concatenated requests; rtnetlink processes them synchronously inside that call.
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* The largest datagram rtnetlink produces: dump skbs are capped at 32 KiB (netlink_recvmsg
   clamps max_recvmsg_len); keep twice that free before each recv so nothing is truncated. */
#define NL_MAX_DATAGRAM (64 * 1024)
#define NL_DEFAULT_ARENA (1024 * 1024)
#define NL_DEFAULT_MAX_DATAGRAMS 4096
#define NL_MAX_GROUPS 32
/* Consecutive error statuses from uv_poll without anything to read before we give up: guards
   against a spin if the kernel ever keeps EPOLLERR raised for a reason SO_ERROR does not clear. */
#define NL_MAX_SPURIOUS_ERRORS 1000

typedef struct {
  napi_env env;
  int fd;
  uint32_t port_id;
  uv_poll_t poll;
  bool poll_started;  /* uv_poll_init done: the handle must be uv_close()d before freeing */
  bool uv_closed;     /* the uv close callback ran */
  bool finalized;     /* the JS wrapper is gone (GC or env teardown): no more napi calls */
  bool paused;
  unsigned spurious;
  napi_ref self_ref;  /* strong while open: an open socket keeps its wrapper (and callbacks) alive */
  napi_ref on_data, on_overrun, on_error;
  napi_async_context async_ctx;
  uint8_t *arena;
  size_t arena_size;
  uint32_t max_datagrams;
  /* sendAsync requests running on the threadpool: the fd must stay open (and its number must
     not be reused) until they finish, so close() defers the close(2) to the last one. */
  unsigned sends_inflight;
  int deferred_close_fd;
} nl_sock;

static void nl_free(nl_sock *s) {
  free(s->arena);
  free(s);
}

static void nl_release_js(nl_sock *s) {
  if (s->finalized) return;
  napi_env env = s->env;
  if (s->async_ctx != NULL) napi_async_destroy(env, s->async_ctx);
  s->async_ctx = NULL;
  napi_ref *refs[] = {&s->on_data, &s->on_overrun, &s->on_error, &s->self_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i] != NULL) napi_delete_reference(env, *refs[i]);
    *refs[i] = NULL;
  }
}

static void nl_on_uv_closed(uv_handle_t *h) {
  nl_sock *s = h->data;
  s->uv_closed = true;
  if (s->finalized) nl_free(s);
  else nl_release_js(s);
}

/* Stop polling and close the fd; JS references are released once libuv has let go. */
static void nl_shutdown(nl_sock *s) {
  if (s->fd < 0) return;
  if (s->poll_started) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, nl_on_uv_closed);
  }
  if (s->sends_inflight > 0) s->deferred_close_fd = s->fd;
  else close(s->fd);
  s->fd = -1;
}

static void nl_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  nl_sock *s = data;
  s->finalized = true;
  if (!s->poll_started || s->uv_closed) {
    if (s->fd >= 0) close(s->fd);
    nl_free(s);
    return;
  }
  /* Env teardown with the socket still open: close it; the uv close callback frees. */
  nl_shutdown(s);
}

static void nl_emit_error(nl_sock *s, const char *syscall, int err) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  napi_value e = wren_errno_error(s->env, syscall, err, NULL);
  if (e != NULL) wren_make_callback(s->env, s->async_ctx, s->self_ref, s->on_error, 1, &e);
  napi_close_handle_scope(s->env, scope);
}

static void nl_emit_overrun(nl_sock *s) {
  wren_make_callback(s->env, s->async_ctx, s->self_ref, s->on_overrun, 0, NULL);
}

static void nl_flush(nl_sock *s, size_t len, uint32_t datagrams) {
  if (len == 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  napi_value argv[2];
  void *copy = NULL;
  /* A copy: the arena is reused for the next read while JS may keep the Buffer. */
  if (napi_create_buffer_copy(s->env, len, s->arena, &copy, &argv[0]) == napi_ok &&
      napi_create_uint32(s->env, datagrams, &argv[1]) == napi_ok) {
    wren_make_callback(s->env, s->async_ctx, s->self_ref, s->on_data, 2, argv);
  }
  napi_close_handle_scope(s->env, scope);
}

static void nl_on_poll(uv_poll_t *h, int status, int events);

static void nl_restart_poll(nl_sock *s) {
  if (s->fd < 0 || s->paused) return;
  int r = uv_poll_start(&s->poll, UV_READABLE, nl_on_poll);
  if (r != 0) nl_emit_error(s, "uv_poll_start", -r);
}

/* Read what is queued, up to max_datagrams, delivering in arena-sized chunks. */
static void nl_drain(nl_sock *s) {
  size_t off = 0;
  uint32_t count = 0;
  uint32_t total = 0;
  while (s->fd >= 0 && !s->paused && total < s->max_datagrams) {
    if (s->arena_size - off < NL_MAX_DATAGRAM) {
      nl_flush(s, off, count);
      off = 0;
      count = 0;
      continue;
    }
    size_t space = s->arena_size - off;
    /* MSG_TRUNC: the return value is the datagram's real length, so truncation is visible. */
    ssize_t n = recv(s->fd, s->arena + off, space, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      /* Deliver what came before the error first, so JS sees events in kernel order. */
      nl_flush(s, off, count);
      off = 0;
      count = 0;
      if (s->fd < 0) return;
      if (err == ENOBUFS) {
        /* The kernel dropped messages for us; the socket itself is fine and stays open. */
        nl_emit_overrun(s);
        continue;
      }
      nl_emit_error(s, "recv", err);
      return;
    }
    s->spurious = 0;
    total++;
    if ((size_t)n > space) {
      /* Cannot happen for rtnetlink (datagrams <= 32 KiB); report rather than pass garbage. */
      nl_flush(s, off, count);
      off = 0;
      count = 0;
      if (s->fd < 0) return;
      nl_emit_error(s, "recv", EMSGSIZE);
      continue;
    }
    off += (size_t)n;
    count++;
  }
  nl_flush(s, off, count);
}

static void nl_on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  nl_sock *s = h->data;
  if (s->fd < 0 || s->finalized) return;
  if (status < 0) {
    /* libuv reports EPOLLERR as UV_EBADF and has stopped this handle. The socket's pending
       error (sk_err) is what happened; reading SO_ERROR also clears it. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0 && ++s->spurious > NL_MAX_SPURIOUS_ERRORS) {
      uv_poll_stop(&s->poll);
      nl_emit_error(s, "uv_poll", -status);
      return;
    }
    nl_restart_poll(s);
    if (err == ENOBUFS) nl_emit_overrun(s);
    else if (err != 0) nl_emit_error(s, "recv", err);
    if (s->fd < 0) return;
  }
  nl_drain(s);
}

static nl_sock *nl_unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a NetlinkSocket");
    return NULL;
  }
  return data;
}

static bool opt_uint32(napi_env env, napi_value opts, const char *key, uint32_t *out) {
  napi_value v;
  bool present = false;
  if (!wren_get_prop(env, opts, key, &v, &present)) return false;
  return !present || wren_get_uint32(env, v, key, out);
}

static bool opt_bool(napi_env env, napi_value opts, const char *key, bool *out) {
  napi_value v;
  bool present = false;
  if (!wren_get_prop(env, opts, key, &v, &present)) return false;
  return !present || wren_get_bool(env, v, key, out);
}

/* Set a buffer size as root (the FORCE variant ignores rmem_max/wmem_max), else as far as the
   sysctl cap allows. Returns the size the kernel reports afterwards (it doubles the request). */
static int set_buffer(int fd, int force_opt, int opt, uint32_t bytes, uint32_t *actual) {
  int v = bytes > (uint32_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)bytes;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) < 0) {
    if (errno != EPERM) return -1;
    if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v) < 0) return -1;
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, opt, &got, &len) < 0) return -1;
  *actual = (uint32_t)got;
  return 0;
}

/* Optional netlink features: ENOPROTOOPT (older kernel) means "not available", not failure. */
static int set_nl_flag(int fd, int opt, bool on, bool *enabled) {
  *enabled = false;
  if (!on) return 0;
  int one = 1;
  if (setsockopt(fd, SOL_NETLINK, opt, &one, sizeof one) < 0) return errno == ENOPROTOOPT ? 0 : -1;
  *enabled = true;
  return 0;
}

/* Classic BPF dropping every datagram whose first message carries nlmsg_pid == port: the
   kernel's echoes of our own writes never reach the watch socket's queue (no copy, no wakeup,
   no recv), and so can never overrun it. BPF_ABS loads are big-endian, hence htonl. */
static int attach_port_filter(int fd, uint32_t port) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(port), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* new NetlinkSocket(protocol, options, onData(buf, datagrams), onOverrun(), onError(err)) */
static napi_value nl_construct(napi_env env, napi_callback_info info) {
  napi_value argv[5], self;
  if (!wren_get_args(env, info, 5, argv, &self, "NetlinkSocket(protocol, options, onData, onOverrun, onError)")) return NULL;
  int32_t protocol;
  if (!wren_get_int32(env, argv[0], "protocol", &protocol)) return NULL;
  napi_value opts = argv[1];
  for (int i = 2; i < 5; i++)
    if (!wren_get_function(env, argv[i], i == 2 ? "onData" : i == 3 ? "onOverrun" : "onError")) return NULL;

  uint32_t rcvbuf = 0, sndbuf = 0, ignore_port = 0, arena = NL_DEFAULT_ARENA, max_dgrams = NL_DEFAULT_MAX_DATAGRAMS;
  bool no_enobufs = false, ext_ack = false, cap_ack = false, strict = false;
  if (!opt_uint32(env, opts, "recvBufferBytes", &rcvbuf) || !opt_uint32(env, opts, "sendBufferBytes", &sndbuf) ||
      !opt_uint32(env, opts, "ignorePortId", &ignore_port) || !opt_uint32(env, opts, "readBufferBytes", &arena) ||
      !opt_uint32(env, opts, "maxDatagramsPerRead", &max_dgrams) || !opt_bool(env, opts, "noEnobufs", &no_enobufs) ||
      !opt_bool(env, opts, "extAck", &ext_ack) || !opt_bool(env, opts, "capAck", &cap_ack) ||
      !opt_bool(env, opts, "strictCheck", &strict))
    return NULL;
  if (arena < 2 * NL_MAX_DATAGRAM) arena = 2 * NL_MAX_DATAGRAM;
  if (arena > 64u << 20) arena = 64u << 20;
  if (max_dgrams == 0) max_dgrams = 1;

  uint32_t groups[NL_MAX_GROUPS];
  uint32_t ngroups = 0;
  {
    napi_value g;
    bool present = false;
    if (!wren_get_prop(env, opts, "groups", &g, &present)) return NULL;
    if (present) {
      bool is_array = false;
      if (napi_is_array(env, g, &is_array) != napi_ok || !is_array) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "groups must be an array of group numbers");
        return NULL;
      }
      NAPI_CALL(env, napi_get_array_length(env, g, &ngroups));
      if (ngroups > NL_MAX_GROUPS) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "too many multicast groups");
        return NULL;
      }
      for (uint32_t i = 0; i < ngroups; i++) {
        napi_value e;
        NAPI_CALL(env, napi_get_element(env, g, i, &e));
        if (!wren_get_uint32(env, e, "groups[i]", &groups[i])) return NULL;
      }
    }
  }

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return wren_throw_errno(env, "socket", errno, "AF_NETLINK");
  const char *failed = NULL;
  uint32_t rcv_actual = 0, snd_actual = 0;
  bool ext_on = false, cap_on = false, strict_on = false, noenobufs_on = false;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  socklen_t salen = sizeof sa;
  if (rcvbuf > 0 && set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf, &rcv_actual) < 0) failed = "setsockopt SO_RCVBUF";
  else if (sndbuf > 0 && set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf, &snd_actual) < 0) failed = "setsockopt SO_SNDBUF";
  else if (set_nl_flag(fd, NETLINK_EXT_ACK, ext_ack, &ext_on) < 0) failed = "setsockopt NETLINK_EXT_ACK";
  else if (set_nl_flag(fd, NETLINK_CAP_ACK, cap_ack, &cap_on) < 0) failed = "setsockopt NETLINK_CAP_ACK";
  else if (set_nl_flag(fd, NETLINK_GET_STRICT_CHK, strict, &strict_on) < 0) failed = "setsockopt NETLINK_GET_STRICT_CHK";
  else if (set_nl_flag(fd, NETLINK_NO_ENOBUFS, no_enobufs, &noenobufs_on) < 0) failed = "setsockopt NETLINK_NO_ENOBUFS";
  else if (ignore_port != 0 && attach_port_filter(fd, ignore_port) < 0) failed = "setsockopt SO_ATTACH_FILTER";
  else if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) failed = "bind";
  else if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) failed = "getsockname";
  for (uint32_t i = 0; failed == NULL && i < ngroups; i++) {
    /* Group numbers (RTNLGRP_*), not the legacy 32-bit bitmask of nl_groups. */
    int grp = (int)groups[i];
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp) < 0) failed = "setsockopt NETLINK_ADD_MEMBERSHIP";
  }
  if (rcv_actual == 0 && failed == NULL) {
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0) rcv_actual = (uint32_t)got;
  }
  if (failed != NULL) {
    int err = errno;
    close(fd);
    return wren_throw_errno(env, failed, err, NULL);
  }

  nl_sock *s = calloc(1, sizeof *s);
  uint8_t *mem = malloc(arena);
  if (s == NULL || mem == NULL) {
    free(s);
    free(mem);
    close(fd);
    return wren_throw_errno(env, "malloc", ENOMEM, NULL);
  }
  s->env = env;
  s->fd = fd;
  s->deferred_close_fd = -1;
  s->port_id = sa.nl_pid;
  s->arena = mem;
  s->arena_size = arena;
  s->max_datagrams = max_dgrams;
  if (napi_wrap(env, self, s, nl_finalize, NULL, NULL) != napi_ok) {
    close(fd);
    nl_free(s);
    wren_throw_napi_status(env, napi_generic_failure, "napi_wrap");
    return NULL;
  }
  /* From here on the finalizer owns s. */
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "wren:NetlinkSocket", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_async_init(env, self, name, &s->async_ctx));
  NAPI_CALL(env, napi_create_reference(env, argv[2], 1, &s->on_data));
  NAPI_CALL(env, napi_create_reference(env, argv[3], 1, &s->on_overrun));
  NAPI_CALL(env, napi_create_reference(env, argv[4], 1, &s->on_error));
  NAPI_CALL(env, napi_create_reference(env, self, 1, &s->self_ref));

  uv_loop_t *loop = NULL;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  int r = uv_poll_init(loop, &s->poll, fd);
  if (r != 0) {
    nl_release_js(s);
    return wren_throw_errno(env, "uv_poll_init", -r, NULL);
  }
  s->poll.data = s;
  s->poll_started = true;
  r = uv_poll_start(&s->poll, UV_READABLE, nl_on_poll);
  if (r != 0) {
    nl_shutdown(s);
    return wren_throw_errno(env, "uv_poll_start", -r, NULL);
  }

  if (!wren_set_uint32_prop(env, self, "fd", (uint32_t)fd) || !wren_set_uint32_prop(env, self, "portId", s->port_id) ||
      !wren_set_uint32_prop(env, self, "recvBufferBytes", rcv_actual) ||
      !wren_set_uint32_prop(env, self, "sendBufferBytes", snd_actual) || !wren_set_bool_prop(env, self, "extAck", ext_on) ||
      !wren_set_bool_prop(env, self, "capAck", cap_on) || !wren_set_bool_prop(env, self, "strictCheck", strict_on) ||
      !wren_set_bool_prop(env, self, "noEnobufs", noenobufs_on)) {
    wren_throw_napi_status(env, napi_generic_failure, "set properties");
    return NULL;
  }
  return self;
}

/* send(buffer) -> bytes sent. One sendto() to the kernel (port 0) of concatenated requests. */
static napi_value nl_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nl_sock *s = nl_unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "send(buffer)");
    return NULL;
  }
  void *data;
  size_t len;
  if (!wren_get_bytes(env, argv[0], "buffer", &data, &len)) return NULL;
  if (s->fd < 0) return wren_throw_errno(env, "sendto", EBADF, "socket closed");
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(s->fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return wren_throw_errno(env, "sendto", errno, NULL);
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, (double)n, &out));
  return out;
}

/*
 * sendAsync(buffer, callback(err, bytes)): the same sendto() on a libuv threadpool thread. The
 * kernel executes the requests inside that call (for 100k routes, about as long as the JS that
 * prepared them), so the event loop stays free meanwhile: JS prepares the next batch and BGP
 * keepalives are not delayed. The buffer is kept alive by a reference until completion.
 */
typedef struct {
  nl_sock *s;
  int fd;
  const void *data;
  size_t len;
  ssize_t sent;
  int err;
  napi_async_work work;
  napi_ref buf_ref, cb_ref, self_ref;
} nl_send_req;

static void nl_send_execute(napi_env env, void *data) {
  (void)env;
  nl_send_req *r = data;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(r->fd, r->data, r->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  r->sent = n;
  r->err = n < 0 ? errno : 0;
}

static void nl_send_complete(napi_env env, napi_status status, void *data) {
  nl_send_req *r = data;
  nl_sock *s = r->s;
  if (--s->sends_inflight == 0 && s->deferred_close_fd >= 0) {
    close(s->deferred_close_fd);
    s->deferred_close_fd = -1;
  }
  napi_value argv[2], cb, self, result;
  if (status == napi_cancelled) {
    argv[0] = wren_errno_error(env, "sendto", ECANCELED, NULL);
    napi_get_undefined(env, &argv[1]);
  } else if (r->err != 0) {
    argv[0] = wren_errno_error(env, "sendto", r->err, NULL);
    napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_double(env, (double)r->sent, &argv[1]);
  }
  if (argv[0] != NULL && napi_get_reference_value(env, r->cb_ref, &cb) == napi_ok &&
      napi_get_reference_value(env, r->self_ref, &self) == napi_ok) {
    /* The completion runs inside a callback scope; a throw goes to 'uncaughtException'. */
    if (napi_call_function(env, self, cb, 2, argv, &result) == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
  napi_delete_reference(env, r->buf_ref);
  napi_delete_reference(env, r->cb_ref);
  napi_delete_reference(env, r->self_ref);
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value nl_send_async(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  void *wrapped = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (napi_unwrap(env, self, &wrapped) != napi_ok || wrapped == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a NetlinkSocket");
    return NULL;
  }
  nl_sock *s = wrapped;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "sendAsync(buffer, callback)");
    return NULL;
  }
  void *data;
  size_t len;
  if (!wren_get_bytes(env, argv[0], "buffer", &data, &len) || !wren_get_function(env, argv[1], "callback")) return NULL;
  if (s->fd < 0) return wren_throw_errno(env, "sendto", EBADF, "socket closed");
  nl_send_req *r = calloc(1, sizeof *r);
  if (r == NULL) return wren_throw_errno(env, "malloc", ENOMEM, NULL);
  r->s = s;
  r->fd = s->fd;
  r->data = data;
  r->len = len;
  napi_value name;
  if (napi_create_reference(env, argv[0], 1, &r->buf_ref) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &r->cb_ref) != napi_ok ||
      napi_create_reference(env, self, 1, &r->self_ref) != napi_ok ||
      napi_create_string_utf8(env, "wren:NetlinkSocket.sendAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, self, name, nl_send_execute, nl_send_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    if (r->buf_ref != NULL) napi_delete_reference(env, r->buf_ref);
    if (r->cb_ref != NULL) napi_delete_reference(env, r->cb_ref);
    if (r->self_ref != NULL) napi_delete_reference(env, r->self_ref);
    if (r->work != NULL) napi_delete_async_work(env, r->work);
    free(r);
    wren_throw_napi_status(env, napi_generic_failure, "sendAsync");
    return NULL;
  }
  s->sends_inflight++;
  return NULL;
}

static napi_value nl_pause(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_sock *s = nl_unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  if (s->fd >= 0 && !s->paused) {
    s->paused = true;
    uv_poll_stop(&s->poll);
  }
  return NULL;
}

static napi_value nl_resume(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_sock *s = nl_unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  if (s->fd >= 0 && s->paused) {
    s->paused = false;
    int r = uv_poll_start(&s->poll, UV_READABLE, nl_on_poll);
    if (r != 0) return wren_throw_errno(env, "uv_poll_start", -r, NULL);
  }
  return NULL;
}

static napi_value nl_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  nl_sock *s = nl_unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  nl_shutdown(s);
  return NULL;
}

napi_value wren_init_netlink(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"send", NULL, nl_send, NULL, NULL, NULL, napi_default_method, NULL},
      {"sendAsync", NULL, nl_send_async, NULL, NULL, NULL, napi_default_method, NULL},
      {"pause", NULL, nl_pause, NULL, NULL, NULL, napi_default_method, NULL},
      {"resume", NULL, nl_resume, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, nl_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  NAPI_CALL(env, napi_define_class(env, "NetlinkSocket", NAPI_AUTO_LENGTH, nl_construct, NULL,
                                   sizeof methods / sizeof methods[0], methods, &cls));
  NAPI_CALL(env, napi_set_named_property(env, exports, "NetlinkSocket", cls));
  return exports;
}
