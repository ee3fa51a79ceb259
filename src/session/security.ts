/**
 * TCP MD5 signatures (RFC 2385) and GTSM (RFC 5082) for BGP sockets: the pure rules (which hop
 * limits, which listening socket takes which peer's key) and thin wrappers over the native addon
 * (src/native.ts) that apply them.
 *
 * - MD5, passive side: the key for a peer's address is set on every listening socket that can
 *   accept that peer (the kernel then demands a signature from that address only, and accepted
 *   sockets inherit the key). An IPv4 peer on a dual-stack `::` socket is keyed by its v4-mapped
 *   address (the addon maps it; Linux stores it as an IPv4 key).
 * - MD5, active side: the key must be on the socket before the SYN, which node:net cannot do, so
 *   the addon creates, configures and connects the socket and Node wraps the connected fd.
 * - GTSM: TTL / hop limit 255 on everything we send, and IP_MINTTL / IPV6_MINHOPCOUNT =
 *   256 - hops on the session socket. An outgoing socket has both before its SYN. The listening
 *   socket cannot be given a minimum TTL, as it serves peers with and without GTSM; it sends with
 *   TTL 255 while any peer has GTSM (the SYN-ACK must pass the peer's check) and saves every SYN
 *   it answers (TCP_SAVE_SYN). A connection accepted from a GTSM peer is judged by its SYN's TTL
 *   before any byte is read and reset if it is below the minimum (RFC 5082 §3), so a sender too
 *   far away never gets an OPEN read or a byte sent, unlike BIRD, which only sets IP_MINTTL in
 *   bgp_incoming_connection; see manager.ts. A connection that passes gets both options right
 *   after accept() (applyGtsm), and from then on the kernel drops every low-TTL segment. What
 *   stays unchecked is what arrives between the SYN and that setsockopt on a connection whose SYN
 *   passed: the handshake's last ACK and the first data segments, which an attacker could only
 *   forge by injecting into that connection in window. With no saved SYN (see manager.ts for
 *   when) the check starts at accept(), as it did before.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { loadNative, setMinTtl, setTcpMd5, setTtl } from '../native.js';
import type { NativeError } from '../native.js';

/** RFC 5082 §3: every GTSM packet leaves with the maximum TTL. */
export const GTSM_TTL = 255 as const;

/** RFC 2385 keys are at most 80 bytes (TCP_MD5SIG_MAXKEYLEN). */
export const MD5_MAX_KEY_BYTES = 80 as const;

/** The per-session security settings of a peer. */
export interface SessionSecurity {
  /** TCP MD5 key; absent or '' = none. */
  readonly password?: string;
  /** GTSM: the peer is at most this many hops away (1 = directly connected); absent = off. */
  readonly ttlSecurityHops?: number;
}

/** IP_MINTTL for a peer `hops` away: 255 for a direct neighbour, 254 one router further. */
export function gtsmMinTtl(hops: number): number {
  if (!Number.isInteger(hops) || hops < 1 || hops > 254) throw new RangeError(`ttl-security hops must be 1..254, got ${hops}`);
  return 256 - hops;
}

export function hasPassword(s: SessionSecurity): boolean {
  return s.password !== undefined && s.password !== '';
}

/** True when the session needs socket options node:net cannot set before the SYN. */
export function needsNativeConnect(s: SessionSecurity): boolean {
  return hasPassword(s) || s.ttlSecurityHops !== undefined;
}

export function md5KeyBytes(password: string): Buffer {
  const b = Buffer.from(password, 'utf8');
  if (b.length > MD5_MAX_KEY_BYTES) throw new RangeError(`TCP MD5 key is ${b.length} bytes, at most ${MD5_MAX_KEY_BYTES}`);
  return b;
}

/** What a listening socket accepts: its family and whether an IPv6 socket is dual stack. */
export interface ListenerFamilies {
  readonly v4: boolean;
  readonly v6: boolean;
}

/** The families a listening socket bound to `address` accepts (Linux: `::` without IPV6_V6ONLY takes IPv4 too). */
export function listenerFamilies(address: string, ipv6Only: boolean): ListenerFamilies {
  if (net.isIPv4(address)) return { v4: true, v6: false };
  return { v4: !ipv6Only && address === '::', v6: true };
}

/** Whether a peer's MD5 key belongs on a listener (setting a v6 key on an IPv4 socket fails). */
export function listenerTakesPeer(l: ListenerFamilies, peerAddress: string): boolean {
  if (net.isIPv4(peerAddress)) return l.v4;
  if (net.isIPv6(peerAddress)) return l.v6;
  return false;
}

/** Set (or with '' remove) a peer's MD5 key on a listening server. */
export function setListenerKey(server: net.Server, peerAddress: string, password: string): void {
  setTcpMd5(server, peerAddress, md5KeyBytes(password));
}

/** GTSM on an accepted socket: send with TTL 255, drop anything that travelled more than `hops`. */
export function applyGtsm(socket: net.Socket, hops: number): void {
  const min = gtsmMinTtl(hops);
  setTtl(socket, GTSM_TTL);
  setMinTtl(socket, min);
}

export interface SecureConnectOptions extends SessionSecurity {
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

export interface PendingConnect {
  cancel(): void;
}

/**
 * Connect through the addon with the MD5 key and GTSM options in place before the SYN. `done`
 * is called once, asynchronously, with the connected socket or the connect error (a NativeError
 * with Node's `code`, e.g. ECONNREFUSED); never after `cancel()`. Errors found before any packet
 * is sent (bad address, bind failure, addon missing) are reported the same way, on a later tick.
 * There is no timeout of our own: the FSM's ConnectRetryTimer cancels an attempt that hangs, as
 * it closes a node:net socket still connecting.
 */
export function secureConnect(o: SecureConnectOptions, done: (err: Error | null, socket?: net.Socket) => void): PendingConnect {
  let finished = false;
  const finish = (err: Error | null, socket?: net.Socket): void => {
    if (finished) {
      socket?.destroy();
      return;
    }
    finished = true;
    done(err, socket);
  };
  let native: PendingConnect;
  try {
    const addon = loadNative();
    native = addon.tcpConnect(
      {
        address: o.address,
        port: o.port,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
        ...(hasPassword(o) ? { md5Key: md5KeyBytes(o.password ?? '') } : {}),
        ...(o.ttlSecurityHops !== undefined ? { ttl: GTSM_TTL, minTtl: gtsmMinTtl(o.ttlSecurityHops) } : {}),
      },
      (err: NativeError | null, fd?: number) => {
        if (err !== null || fd === undefined) {
          finish(err ?? new Error('tcpConnect returned no fd'));
          return;
        }
        let sock: net.Socket;
        try {
          sock = new net.Socket({ fd, readable: true, writable: true });
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        finish(null, sock);
      },
    );
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    setImmediate(() => finish(err));
    return {
      cancel: () => {
        finished = true;
      },
    };
  }
  return {
    cancel: () => {
      if (finished) return;
      finished = true;
      native.cancel();
    },
  };
}
