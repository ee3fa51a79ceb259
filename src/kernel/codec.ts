/**
 * rtnetlink encoding and decoding for the few message shapes wren uses: RTM_NEWROUTE /
 * RTM_DELROUTE requests, route and link dumps, and the notifications of the route and link
 * multicast groups. Hand-written rather than built from the `netlink` package's generic
 * struct formatters because those allocate an array of small buffers per attribute; at 100k
 * routes per second that allocation dominates. Messages are written straight into one batch
 * buffer. Netlink uses host byte order; wren runs on little-endian Linux (x86-64, arm64) and
 * refuses to start elsewhere rather than program garbage.
 */
import { endianness } from 'node:os';
import type { Address } from '../../proto/types.js';
import { formatIpv6, parseIpv6, prefix4, prefix4Address, prefix4Length, prefix6, prefix6Bytes, prefix6Length } from '../../proto/prefix.js';
import type { Prefix } from '../../proto/prefix.js';
import {
  AF_INET,
  AF_INET6,
  IFA,
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  IFLA,
  NLMSG,
  NLMSGERR_ATTR,
  NLMSGERR_F,
  NLMSG_HDRLEN,
  NLM_F,
  RTA,
  RTMSG_LEN,
  RTNEXTHOP_LEN,
  RTM,
  RTN,
  RT_SCOPE,
} from './constants.js';

if (endianness() !== 'LE') throw new Error('src/kernel: netlink encoding assumes a little-endian host');

/** A next hop as written on the wire: the device already resolved to an ifindex (0: let the kernel pick). */
export interface WireNextHop {
  readonly gateway: Address;
  readonly ifindex: number;
  readonly onlink: boolean;
}

export type WireRoute =
  | { readonly kind: 'blackhole'; readonly prefix: Prefix }
  | { readonly kind: 'unicast'; readonly prefix: Prefix; readonly nextHops: readonly WireNextHop[] };

export interface RouteHeader {
  readonly seq: number;
  readonly pid: number;
  readonly flags: number;
  readonly table: number;
  readonly protocol: number;
}

const align4 = (n: number): number => (n + 3) & ~3;

function addrLen(family: number): number {
  return family === AF_INET ? 4 : 16;
}

/** Upper bound of the encoded size of a NEWROUTE / DELROUTE message, for sizing batch buffers. */
export function maxRouteMessageSize(hops: number): number {
  // header + rtmsg + RTA_TABLE + RTA_DST + RTA_PRIORITY + (RTA_GATEWAY + RTA_OIF) or RTA_MULTIPATH
  return NLMSG_HDRLEN + RTMSG_LEN + 8 + 20 + 8 + 4 + Math.max(1, hops) * (RTNEXTHOP_LEN + 20 + 8);
}

function writeAddress(buf: Buffer, off: number, a: Address): void {
  if (typeof a === 'number') {
    buf.writeUInt32BE(a >>> 0, off);
    return;
  }
  const bytes = parseIpv6(a);
  if (bytes === null) throw new TypeError(`invalid IPv6 gateway ${a}`);
  buf.set(bytes, off);
}

function writeAttrHeader(buf: Buffer, off: number, len: number, type: number): number {
  buf.writeUInt16LE(len, off);
  buf.writeUInt16LE(type, off + 2);
  return off + 4;
}

function writeDst(buf: Buffer, off: number, prefix: Prefix): number {
  if (typeof prefix === 'number') {
    off = writeAttrHeader(buf, off, 8, RTA.DST);
    buf.writeUInt32BE(prefix4Address(prefix), off);
    return off + 4;
  }
  off = writeAttrHeader(buf, off, 20, RTA.DST);
  buf.set(prefix6Bytes(prefix), off);
  return off + 16;
}

function writeRtmsg(
  buf: Buffer,
  off: number,
  family: number,
  dstLen: number,
  h: RouteHeader,
  scope: number,
  type: number,
  flags: number,
): number {
  buf[off] = family;
  buf[off + 1] = dstLen;
  buf[off + 2] = 0; // src_len
  buf[off + 3] = 0; // tos
  // Tables above 255 only fit RTA_TABLE; the kernel reads RTA_TABLE first anyway.
  buf[off + 4] = h.table < 256 ? h.table : 252;
  buf[off + 5] = h.protocol;
  buf[off + 6] = scope;
  buf[off + 7] = type;
  buf.writeUInt32LE(flags >>> 0, off + 8);
  return off + RTMSG_LEN;
}

function writeNlmsghdr(buf: Buffer, off: number, len: number, type: number, h: RouteHeader): void {
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(type, off + 4);
  buf.writeUInt16LE(h.flags, off + 6);
  buf.writeUInt32LE(h.seq >>> 0, off + 8);
  buf.writeUInt32LE(h.pid >>> 0, off + 12);
}

/** Encode RTM_NEWROUTE for `route` at `off`; returns the offset after the message. */
export function encodeNewRoute(buf: Buffer, off: number, route: WireRoute, h: RouteHeader): number {
  const start = off;
  const family = typeof route.prefix === 'number' ? AF_INET : AF_INET6;
  const dstLen = typeof route.prefix === 'number' ? prefix4Length(route.prefix) : prefix6Length(route.prefix);
  const single = route.kind === 'unicast' && route.nextHops.length === 1 ? route.nextHops[0] : undefined;
  const type = route.kind === 'blackhole' ? RTN.BLACKHOLE : RTN.UNICAST;
  // Single-hop onlink is a route flag; for multipath it is per rtnexthop.
  const rtmFlags = single?.onlink === true ? 4 : 0;
  off = writeRtmsg(buf, off + NLMSG_HDRLEN, family, dstLen, h, RT_SCOPE.UNIVERSE, type, rtmFlags);
  off = writeAttrHeader(buf, off, 8, RTA.TABLE);
  buf.writeUInt32LE(h.table, off);
  off += 4;
  off = writeDst(buf, off, route.prefix);
  const alen = addrLen(family);
  if (single !== undefined) {
    off = writeAttrHeader(buf, off, 4 + alen, RTA.GATEWAY);
    writeAddress(buf, off, single.gateway);
    off += alen;
    if (single.ifindex !== 0) {
      off = writeAttrHeader(buf, off, 8, RTA.OIF);
      buf.writeInt32LE(single.ifindex, off);
      off += 4;
    }
  } else if (route.kind === 'unicast' && route.nextHops.length > 1) {
    const mpStart = off;
    off += 4;
    for (const hop of route.nextHops) {
      const hopLen = RTNEXTHOP_LEN + 4 + alen;
      buf.writeUInt16LE(hopLen, off);
      buf[off + 2] = hop.onlink ? 4 : 0;
      buf[off + 3] = 0; // hops (weight - 1)
      buf.writeInt32LE(hop.ifindex, off + 4);
      off = writeAttrHeader(buf, off + RTNEXTHOP_LEN, 4 + alen, RTA.GATEWAY);
      writeAddress(buf, off, hop.gateway);
      off += alen;
    }
    writeAttrHeader(buf, mpStart, off - mpStart, RTA.MULTIPATH);
  }
  writeNlmsghdr(buf, start, off - start, RTM.NEWROUTE, h);
  return off;
}

/**
 * Encode RTM_DELROUTE for `prefix`. Protocol is always set so the kernel only ever matches a route
 * of ours (fib_table_delete and ip6_route_del both compare it), never another daemon's route for
 * the same prefix. Type 0 and scope NOWHERE are the kernel's wildcards.
 */
export function encodeDelRoute(buf: Buffer, off: number, prefix: Prefix, priority: number | null, h: RouteHeader): number {
  const start = off;
  const family = typeof prefix === 'number' ? AF_INET : AF_INET6;
  const dstLen = typeof prefix === 'number' ? prefix4Length(prefix) : prefix6Length(prefix);
  off = writeRtmsg(buf, off + NLMSG_HDRLEN, family, dstLen, h, RT_SCOPE.NOWHERE, RTN.UNSPEC, 0);
  off = writeAttrHeader(buf, off, 8, RTA.TABLE);
  buf.writeUInt32LE(h.table, off);
  off += 4;
  off = writeDst(buf, off, prefix);
  if (priority !== null) {
    off = writeAttrHeader(buf, off, 8, RTA.PRIORITY);
    buf.writeUInt32LE(priority >>> 0, off);
    off += 4;
  }
  writeNlmsghdr(buf, start, off - start, RTM.DELROUTE, h);
  return off;
}

/** A dump request (RTM_GETROUTE / RTM_GETLINK with NLM_F_DUMP) for one family. */
export function encodeDumpRequest(type: typeof RTM.GETROUTE | typeof RTM.GETLINK, family: number, seq: number, pid: number): Buffer {
  const bodyLen = type === RTM.GETROUTE ? RTMSG_LEN : IFINFOMSG_LEN;
  const buf = Buffer.alloc(NLMSG_HDRLEN + bodyLen);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(NLM_F.REQUEST | NLM_F.DUMP, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(pid >>> 0, 12);
  buf[NLMSG_HDRLEN] = family;
  return buf;
}

// --- decoding ---------------------------------------------------------------------------------

export interface NlHeader {
  readonly len: number;
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Offset of the payload in the buffer. */
  readonly body: number;
}

/**
 * Split a received datagram into messages. A tail cut short is dropped, or with `clampTail`
 * (the datagram was truncated by a short receive buffer) kept with its length clamped, so its
 * leading fields can still be read.
 */
export function splitMessages(buf: Buffer, clampTail = false): NlHeader[] {
  const out: NlHeader[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    let len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN) break;
    if (off + len > buf.length) {
      if (!clampTail) break;
      len = buf.length - off;
    }
    out.push({
      len,
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      body: off + NLMSG_HDRLEN,
    });
    off += align4(len);
  }
  return out;
}

/** NLMSG_ERROR payload: negative errno (0 is an ACK) and the sequence number of the request. */
export function decodeError(buf: Buffer, h: NlHeader): { readonly errno: number; readonly seq: number } {
  const errno = -buf.readInt32LE(h.body);
  const seq = h.len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN ? buf.readUInt32LE(h.body + 4 + 8) : h.seq;
  return { errno, seq };
}

export interface DecodedErrorExt {
  /** Positive errno; 0 is an ACK. */
  readonly errno: number;
  /** Sequence number and type of the request the reply is for. */
  readonly seq: number;
  readonly type: number;
  /** NLMSGERR_ATTR_MSG (NETLINK_EXT_ACK), e.g. "Nexthop has invalid gateway"; null when absent. */
  readonly message: string | null;
}

/**
 * NLMSG_ERROR with the request's header (always present) and, with NETLINK_EXT_ACK, the kernel's
 * error text. The attributes follow the echoed request: only its header when NLMSGERR_F.CAPPED
 * (NETLINK_CAP_ACK, or an ACK of success), all of it otherwise.
 */
export function decodeErrorExt(buf: Buffer, h: NlHeader): DecodedErrorExt {
  const end = h.body - NLMSG_HDRLEN + h.len;
  const errno = h.len >= NLMSG_HDRLEN + 4 ? -buf.readInt32LE(h.body) : 0;
  const inner = h.body + 4;
  if (inner + NLMSG_HDRLEN > end) return { errno, seq: h.seq, type: 0, message: null };
  const innerLen = buf.readUInt32LE(inner);
  const type = buf.readUInt16LE(inner + 4);
  const seq = buf.readUInt32LE(inner + 8);
  let message: string | null = null;
  if ((h.flags & NLMSGERR_F.ACK_TLVS) !== 0) {
    let off = (h.flags & NLMSGERR_F.CAPPED) !== 0 ? inner + NLMSG_HDRLEN : inner + align4(innerLen);
    while (off + 4 <= end) {
      const alen = buf.readUInt16LE(off);
      const atype = buf.readUInt16LE(off + 2) & 0x3fff;
      if (alen < 4 || off + alen > end) break;
      if (atype === NLMSGERR_ATTR.MSG) {
        let z = off + 4;
        while (z < off + alen && buf[z] !== 0) z++;
        message = buf.toString('utf8', off + 4, z);
      }
      off += align4(alen);
    }
  }
  return { errno, seq, type, message };
}

export interface DecodedNextHop {
  readonly gateway: Address | null;
  readonly ifindex: number;
  /** RTNH_F_* of this hop (for a single-hop route, the rtm_flags). */
  readonly flags: number;
}

export interface DecodedRoute {
  readonly family: number;
  readonly prefix: Prefix;
  readonly table: number;
  readonly protocol: number;
  readonly type: number;
  readonly scope: number;
  readonly flags: number;
  /** RTA_PRIORITY, 0 when absent. */
  readonly priority: number;
  readonly nextHops: readonly DecodedNextHop[];
}

function readAddress(buf: Buffer, off: number, len: number): Address | null {
  if (len === 4) return buf.readUInt32BE(off);
  if (len === 16) return formatIpv6(buf, off);
  return null;
}

/** Decode an RTM_NEWROUTE / RTM_DELROUTE body; null for families wren does not manage. */
export function decodeRoute(buf: Buffer, h: NlHeader): DecodedRoute | null {
  const b = h.body;
  const end = b - NLMSG_HDRLEN + h.len;
  if (end - b < RTMSG_LEN) return null;
  const family = buf[b]!;
  if (family !== AF_INET && family !== AF_INET6) return null;
  const dstLen = buf[b + 1]!;
  let table = buf[b + 4]!;
  const protocol = buf[b + 5]!;
  const scope = buf[b + 6]!;
  const type = buf[b + 7]!;
  const flags = buf.readUInt32LE(b + 8);
  let dst: Address | null = null;
  let dstOff = -1;
  let gateway: Address | null = null;
  let oif = 0;
  let priority = 0;
  const hops: DecodedNextHop[] = [];
  let off = b + RTMSG_LEN;
  while (off + 4 <= end) {
    const alen = buf.readUInt16LE(off);
    const atype = buf.readUInt16LE(off + 2) & 0x3fff;
    if (alen < 4 || off + alen > end) break;
    const v = off + 4;
    const vlen = alen - 4;
    switch (atype) {
      case RTA.DST:
        dstOff = v;
        dst = readAddress(buf, v, vlen);
        break;
      case RTA.TABLE:
        if (vlen >= 4) table = buf.readUInt32LE(v);
        break;
      case RTA.GATEWAY:
        gateway = readAddress(buf, v, vlen);
        break;
      case RTA.OIF:
        if (vlen >= 4) oif = buf.readInt32LE(v);
        break;
      case RTA.PRIORITY:
        if (vlen >= 4) priority = buf.readUInt32LE(v);
        break;
      case RTA.MULTIPATH: {
        let p = v;
        const mend = v + vlen;
        while (p + RTNEXTHOP_LEN <= mend) {
          const nlen = buf.readUInt16LE(p);
          if (nlen < RTNEXTHOP_LEN || p + nlen > mend) break;
          const hflags = buf[p + 2]!;
          const ifindex = buf.readInt32LE(p + 4);
          let hgw: Address | null = null;
          let q = p + RTNEXTHOP_LEN;
          while (q + 4 <= p + nlen) {
            const l = buf.readUInt16LE(q);
            const t = buf.readUInt16LE(q + 2) & 0x3fff;
            if (l < 4 || q + l > p + nlen) break;
            if (t === RTA.GATEWAY) hgw = readAddress(buf, q + 4, l - 4);
            q += align4(l);
          }
          hops.push({ gateway: hgw, ifindex, flags: hflags });
          p += align4(nlen);
        }
        break;
      }
      default:
        break;
    }
    off += align4(alen);
  }
  let prefix: Prefix;
  if (family === AF_INET) {
    prefix = prefix4(typeof dst === 'number' ? dst : 0, dstLen);
  } else {
    prefix = dstOff >= 0 ? prefix6(buf, dstLen, dstOff) : prefix6(new Uint8Array(16), dstLen);
  }
  if (hops.length === 0 && (gateway !== null || oif !== 0)) hops.push({ gateway, ifindex: oif, flags });
  return { family, prefix, table, protocol, type, scope, flags, priority, nextHops: hops };
}

export interface DecodedLink {
  readonly ifindex: number;
  readonly flags: number;
  readonly name: string | null;
}

export function decodeLink(buf: Buffer, h: NlHeader): DecodedLink | null {
  const b = h.body;
  const end = b - NLMSG_HDRLEN + h.len;
  if (end - b < IFINFOMSG_LEN) return null;
  const ifindex = buf.readInt32LE(b + 4);
  const flags = buf.readUInt32LE(b + 8);
  let name: string | null = null;
  let off = b + IFINFOMSG_LEN;
  while (off + 4 <= end) {
    const alen = buf.readUInt16LE(off);
    const atype = buf.readUInt16LE(off + 2) & 0x3fff;
    if (alen < 4 || off + alen > end) break;
    if (atype === IFLA.IFNAME) {
      let z = off + 4;
      while (z < off + alen && buf[z] !== 0) z++;
      name = buf.toString('latin1', off + 4, z);
    }
    off += align4(alen);
  }
  return { ifindex, flags, name };
}

export interface DecodedAddress {
  readonly family: number;
  readonly prefixLength: number;
  /** RT_SCOPE_*: 253 link (IPv6 fe80::), 254 host. */
  readonly scope: number;
  readonly ifindex: number;
  /** The interface's own address (IFA_LOCAL, else IFA_ADDRESS), as text; null if absent. */
  readonly address: string | null;
}

/** An RTM_NEWADDR / RTM_DELADDR notification (struct ifaddrmsg and its address attributes). */
export function decodeAddress(buf: Buffer, h: NlHeader): DecodedAddress | null {
  const b = h.body;
  const end = b - NLMSG_HDRLEN + h.len;
  if (end - b < IFADDRMSG_LEN) return null;
  const family = buf[b]!;
  const prefixLength = buf[b + 1]!;
  const scope = buf[b + 3]!;
  const ifindex = buf.readUInt32LE(b + 4);
  let local: string | null = null;
  let addr: string | null = null;
  let off = b + IFADDRMSG_LEN;
  while (off + 4 <= end) {
    const alen = buf.readUInt16LE(off);
    const atype = buf.readUInt16LE(off + 2) & 0x3fff;
    if (alen < 4 || off + alen > end) break;
    if (atype === IFA.LOCAL || atype === IFA.ADDRESS) {
      let text: string | null = null;
      if (family === AF_INET && alen >= 8) text = `${buf[off + 4]}.${buf[off + 5]}.${buf[off + 6]}.${buf[off + 7]}`;
      else if (family === AF_INET6 && alen >= 20) text = formatIpv6(buf, off + 4);
      if (atype === IFA.LOCAL) local = text;
      else addr = text;
    }
    off += align4(alen);
  }
  // On point-to-point links IFA_ADDRESS is the remote end; IFA_LOCAL is ours when present.
  return { family, prefixLength, scope, ifindex, address: local ?? addr };
}

export const isDone = (h: NlHeader): boolean => h.type === NLMSG.DONE;
