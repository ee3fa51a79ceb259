/**
 * Typed loader for wren's N-API addon (native/*.c, built by node-gyp into build/Release/), which
 * provides what Node has no API for: a netlink socket that survives overruns, systemd's
 * sd_notify, TCP MD5 signatures (RFC 2385), GTSM hop limits (RFC 5082), the TTL of an accepted
 * connection's SYN, and an outgoing TCP connect whose options are set before the SYN.
 *
 * The addon is loaded on first use, so importing this module never fails; a missing build is
 * reported then, with the command that builds it.
 *
 * Socket fds: a connected `net.Socket` and a listening `net.Server` expose their fd as
 * `_handle.fd` (libuv's TCP handle; undocumented but stable since Node 0.x, and -1 on Windows).
 * `socketFd()` reads it with checks. Options on a listening socket are inherited by the sockets
 * it accepts, so an MD5 key or IP_MINTTL set on the server fd applies to the handshake itself.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Socket } from 'node:net';
import type { Server } from 'node:net';

export interface NetlinkSocketOptions {
  /** Multicast groups to join, by number (RTNLGRP_*), not the legacy bitmask. */
  readonly groups?: readonly number[];
  /** SO_RCVBUFFORCE (as root, ignores net.core.rmem_max), else SO_RCVBUF; the kernel doubles it. */
  readonly recvBufferBytes?: number;
  readonly sendBufferBytes?: number;
  /**
   * NETLINK_NO_ENOBUFS: the kernel drops silently instead of reporting an overrun. Only for a
   * socket whose losses do not matter: a lost ACK or a lost notification is then invisible.
   */
  readonly noEnobufs?: boolean;
  /** NETLINK_EXT_ACK: error replies carry the kernel's message text (NLMSGERR_ATTR_MSG). */
  readonly extAck?: boolean;
  /** NETLINK_CAP_ACK: error replies carry only the failed request's header, not all of it. */
  readonly capAck?: boolean;
  /** NETLINK_GET_STRICT_CHK: dump requests are validated and filtered by the kernel. */
  readonly strictCheck?: boolean;
  /** Drop (in the kernel, by a BPF filter) every datagram whose nlmsg_pid is this port. */
  readonly ignorePortId?: number;
  /** Bytes read per JS callback at most (default 1 MiB, at least 128 KiB). */
  readonly readBufferBytes?: number;
  /** Datagrams read per readable event at most (default 4096), so one socket cannot starve the loop. */
  readonly maxDatagramsPerRead?: number;
}

export interface NetlinkHandlers {
  /** Concatenated datagrams: a stream of whole, 4-byte aligned netlink messages. */
  onData(buf: Buffer, datagrams: number): void;
  /** The kernel dropped messages for this socket (ENOBUFS). The socket stays open. */
  onOverrun(): void;
  /** Any other socket error; reading stops only when the socket is unusable. */
  onError(err: NativeError): void;
}

export interface NetlinkSocket {
  readonly fd: number;
  /** The port id the kernel bound (nl_pid); replies and our notifications carry it. */
  readonly portId: number;
  /** The kernel's value after setting (twice the request). */
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  readonly extAck: boolean;
  readonly capAck: boolean;
  readonly strictCheck: boolean;
  readonly noEnobufs: boolean;
  /** One sendto() of concatenated requests; returns the bytes sent or throws a NativeError. */
  send(buf: Uint8Array): number;
  /**
   * The same send on a libuv threadpool thread: rtnetlink executes the requests inside the call,
   * so the event loop stays free while the kernel works. `buf` must not be modified until the
   * callback. Several may run at once and in any order: callers that care serialize them.
   */
  sendAsync(buf: Uint8Array, callback: (err: NativeError | null, bytes?: number) => void): void;
  pause(): void;
  resume(): void;
  close(): void;
}

/** Errors from system calls, shaped like Node's own. */
export interface NativeError extends Error {
  /** Symbolic errno name, e.g. 'EPERM'. */
  readonly code: string;
  /** Negative errno, as in Node's errors. */
  readonly errno: number;
  readonly syscall: string;
}

export interface HopOptions {
  readonly ttl: number;
  readonly minTtl: number;
  /** AF_INET6 sockets only. */
  readonly hopLimit?: number;
  readonly minHopCount?: number;
}

export interface TcpConnectOptions {
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  /** TCP MD5 key for `address`, installed before the SYN is sent. */
  readonly md5Key?: string | Uint8Array;
  /** IP_TTL / IPV6_UNICAST_HOPS of outgoing packets (255 for GTSM). */
  readonly ttl?: number;
  /** IP_MINTTL / IPV6_MINHOPCOUNT: incoming packets with a lower TTL are dropped (GTSM: 254). */
  readonly minTtl?: number;
  /** Give up (ETIMEDOUT) after this long; default 30 s. */
  readonly timeoutMs?: number;
}

interface NativeConnectRequest {
  cancel(): void;
}

interface NativeConnectOptions {
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly md5Key?: Uint8Array;
  readonly ttl?: number;
  readonly minTtl?: number;
}

/** The addon's exports, exactly as native/*.c defines them. */
interface NativeAddon {
  readonly NetlinkSocket: new (
    protocol: number,
    options: NetlinkSocketOptions,
    onData: (buf: Buffer, datagrams: number) => void,
    onOverrun: () => void,
    onError: (err: NativeError) => void,
  ) => NetlinkSocket;
  sdNotify(socketPath: string, message: Uint8Array): void;
  setTcpMd5(fd: number, address: string, key: Uint8Array): void;
  setMinTtl(fd: number, hops: number): void;
  setTtl(fd: number, ttl: number): void;
  getHopOptions(fd: number): HopOptions;
  setSaveSyn(fd: number, on: boolean): void;
  savedSynTtl(fd: number): number | null;
  tcpConnect(options: NativeConnectOptions, callback: (err: NativeError | null, fd?: number) => void): NativeConnectRequest;
}

const ADDON_FILE = 'build/Release/wren_native.node' as const;
const TCP_MD5_MAX_KEY_BYTES = 80 as const;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000 as const;

let addon: NativeAddon | null = null;

/** Where the addon is looked for: the repo root seen from src/ (tap) and from dist/src/ (tsc). */
function candidates(): string[] {
  return [new URL(`../${ADDON_FILE}`, import.meta.url), new URL(`../../${ADDON_FILE}`, import.meta.url)].map((u) => fileURLToPath(u));
}

export function loadNative(): NativeAddon {
  if (addon !== null) return addon;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `wren native addon not built: none of ${paths.join(', ')} exists. ` +
        'Build it with `npm rebuild` or `npx node-gyp rebuild` in the repository root (needs g++ and Node headers).',
    );
  }
  const require = createRequire(import.meta.url);
  addon = require(found) as NativeAddon;
  return addon;
}

/** True when the addon is built and loads on this machine. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

export function openNetlink(protocol: number, options: NetlinkSocketOptions, handlers: NetlinkHandlers): NetlinkSocket {
  const { NetlinkSocket: Ctor } = loadNative();
  return new Ctor(
    protocol,
    options,
    (buf, n) => handlers.onData(buf, n),
    () => handlers.onOverrun(),
    (err) => handlers.onError(err),
  );
}

/**
 * sd_notify(3): send `message` (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET. Returns false
 * without sending when the variable is unset (not started by systemd with Type=notify).
 */
export function sdNotify(message: string, socketPath: string | undefined = process.env['NOTIFY_SOCKET']): boolean {
  if (socketPath === undefined || socketPath === '') return false;
  loadNative().sdNotify(socketPath, Buffer.from(message, 'utf8'));
  return true;
}

interface HandleWithFd {
  readonly _handle?: { readonly fd?: unknown } | null;
}

/** The fd of a net.Socket or net.Server (see the module comment); throws if it has none yet. */
export function socketFd(s: Socket | Server): number {
  const fd = (s as unknown as HandleWithFd)._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor (not listening / connected yet?)');
  return fd;
}

const fdOf = (target: number | Socket | Server): number => (typeof target === 'number' ? target : socketFd(target));

function keyBytes(key: string | Uint8Array): Uint8Array {
  const b = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (b.length > TCP_MD5_MAX_KEY_BYTES) throw new RangeError(`TCP MD5 key is ${b.length} bytes, at most ${TCP_MD5_MAX_KEY_BYTES}`);
  return b;
}

/**
 * TCP MD5 key for one peer address on a socket (a listening one: before the peer connects, it
 * applies to every connection from that address). An empty key removes it. A dual-stack IPv6
 * socket is given the v4-mapped address for an IPv4 peer.
 */
export function setTcpMd5(target: number | Socket | Server, address: string, key: string | Uint8Array): void {
  loadNative().setTcpMd5(fdOf(target), address, keyBytes(key));
}

/** GTSM receive side: drop packets whose TTL / hop limit is below `hops` (254 for one hop; 0 turns it off). */
export function setMinTtl(target: number | Socket | Server, hops: number): void {
  loadNative().setMinTtl(fdOf(target), hops);
}

/** TTL / hop limit of outgoing packets (GTSM send side: 255). */
export function setTtl(target: number | Socket | Server, ttl: number): void {
  loadNative().setTtl(fdOf(target), ttl);
}

export function getHopOptions(target: number | Socket | Server): HopOptions {
  return loadNative().getHopOptions(fdOf(target));
}

/**
 * TCP_SAVE_SYN (Linux >= 4.2) on a listening socket: the kernel keeps each incoming SYN's IP and
 * TCP headers for the connection it accepts, so `savedSynTtl()` can read the SYN's TTL. Only SYNs
 * that arrive after this call are kept.
 */
export function setSaveSyn(target: number | Server, on: boolean): void {
  loadNative().setSaveSyn(fdOf(target), on);
}

/**
 * The TTL (IPv4) or hop limit (IPv6) the SYN of an accepted connection arrived with, read from
 * the headers its listener saved (`setSaveSyn`); an IPv4 client of a dual-stack listener gives its
 * IPv4 TTL. Null when nothing was saved: the listener did not save SYNs when this one came, a SYN
 * cookie completed the handshake, or it was read before (the kernel frees it on the first read).
 */
export function savedSynTtl(target: number | Socket): number | null {
  return loadNative().savedSynTtl(fdOf(target));
}

/**
 * Connect with MD5 / TTL options in place before the SYN. The addon connects non-blocking and
 * waits for the outcome with uv_poll; only a connected fd is wrapped in a net.Socket, so the
 * returned socket behaves like one from net.connect() after its 'connect' event.
 */
export function connectTcp(opts: TcpConnectOptions): Promise<Socket> {
  const native = loadNative();
  const req: NativeConnectOptions = {
    address: opts.address,
    port: opts.port,
    ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}),
    ...(opts.md5Key !== undefined ? { md5Key: keyBytes(opts.md5Key) } : {}),
    ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
    ...(opts.minTtl !== undefined ? { minTtl: opts.minTtl } : {}),
  };
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    const handle = native.tcpConnect(req, (err, fd) => {
      if (timer !== null) clearTimeout(timer);
      if (err !== null || fd === undefined) {
        reject(err ?? new Error('tcpConnect: no fd'));
        return;
      }
      try {
        resolve(new Socket({ fd, readable: true, writable: true }));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    timer = setTimeout(() => {
      handle.cancel();
      const e = Object.assign(new Error(`connect ETIMEDOUT ${opts.address}:${opts.port}`), {
        code: 'ETIMEDOUT',
        errno: -110,
        syscall: 'connect',
      });
      reject(e);
    }, opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  });
}
