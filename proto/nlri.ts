/**
 * NLRI prefix lists (RFC 4271 §4.3 "Network Layer Reachability Information", RFC 4760 §5,
 * RFC 7911 §3 ADD-PATH). This is the hot loop of a full-table load, so it indexes the Buffer
 * directly and allocates nothing but the resulting prefix (an IPv4 prefix is a number).
 *
 *    +---------------------------+
 *    |   Path Identifier (4)     |   only with ADD-PATH for the family (RFC 7911 §3)
 *    +---------------------------+
 *    |   Length (1 octet)        |   in bits
 *    +---------------------------+
 *    |   Prefix (variable)       |   ceil(Length / 8) octets, trailing bits irrelevant
 *    +---------------------------+
 *
 * Decoders return null on success or a short description of the syntax error; the caller picks
 * the BgpError, because the same syntax error is Invalid Network Field in the NLRI field but an
 * MP_REACH_NLRI error inside the attribute (RFC 7606 §5.3).
 */
import type { Buffer } from 'node:buffer';
import type { Prefix, Prefix4, Prefix6 } from './prefix.js';
import { prefix6 } from './prefix.js';

/** RFC 7606 §5.3 (a): "greater than the longest possible (32 for IPv4, 128 for IPv6)". */
export const MAX_PREFIX_LEN_V4 = 32;
export const MAX_PREFIX_LEN_V6 = 128;
/** RFC 7911 §3: the Path Identifier is four octets. */
export const PATH_ID_LEN = 4;
/** 2^6: the IPv4 compact prefix is address * 64 + length (proto/prefix.ts). */
const V4_LEN_SCALE = 64;
const BITS_PER_OCTET = 8;

const MASK4: readonly number[] = Array.from({ length: MAX_PREFIX_LEN_V4 + 1 }, (_, len) =>
  len === 0 ? 0 : (0xffffffff << (MAX_PREFIX_LEN_V4 - len)) >>> 0,
);

/**
 * Decode IPv4 prefixes in buf[pos, end) into `out` (and their path identifiers into `pathIds`
 * when ADD-PATH is on). RFC 7606 §5.3: a length above 32 or a prefix running past the field is
 * a syntax error.
 */
export function decodePrefixes4(
  buf: Buffer,
  pos: number,
  end: number,
  out: Prefix4[],
  pathIds: number[] | null,
): string | null {
  while (pos < end) {
    if (pathIds !== null) {
      if (end - pos < PATH_ID_LEN) return 'truncated path identifier';
      pathIds.push(((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0);
      pos += PATH_ID_LEN;
      if (pos >= end) return 'path identifier without a prefix';
    }
    const len = buf[pos++]!;
    if (len > MAX_PREFIX_LEN_V4) return `prefix length ${len} exceeds ${MAX_PREFIX_LEN_V4}`;
    const n = (len + 7) >> 3;
    if (end - pos < n) return `prefix /${len} runs past the end of the field`;
    let a = 0;
    switch (n) {
      case 4:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
        break;
      case 3:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8);
        break;
      case 2:
        a = (buf[pos]! << 24) | (buf[pos + 1]! << 16);
        break;
      case 1:
        a = buf[pos]! << 24;
        break;
      default:
        break;
    }
    pos += n;
    // Trailing bits beyond the length are irrelevant (RFC 4271 §4.3); clear them so equal
    // prefixes are equal numbers.
    out.push(((a & MASK4[len]!) >>> 0) * V4_LEN_SCALE + len);
  }
  return null;
}

/** IPv6 counterpart of decodePrefixes4 (RFC 4760 §5, RFC 2545). */
export function decodePrefixes6(
  buf: Buffer,
  pos: number,
  end: number,
  out: Prefix6[],
  pathIds: number[] | null,
): string | null {
  while (pos < end) {
    if (pathIds !== null) {
      if (end - pos < PATH_ID_LEN) return 'truncated path identifier';
      pathIds.push(((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0);
      pos += PATH_ID_LEN;
      if (pos >= end) return 'path identifier without a prefix';
    }
    const len = buf[pos++]!;
    if (len > MAX_PREFIX_LEN_V6) return `prefix length ${len} exceeds ${MAX_PREFIX_LEN_V6}`;
    const n = (len + 7) >> 3;
    if (end - pos < n) return `prefix /${len} runs past the end of the field`;
    const spare = len & 7;
    if (spare === 0 || (buf[pos + n - 1]! & (0xff >> spare)) === 0) {
      out.push(String.fromCharCode(len) + buf.toString('latin1', pos, pos + n));
    } else {
      out.push(prefix6(buf, len, pos));
    }
    pos += n;
  }
  return null;
}

/** Octets a prefix takes on the wire, path identifier excluded. */
export function prefixWireLength(p: Prefix): number {
  const len = typeof p === 'number' ? p % V4_LEN_SCALE : p.charCodeAt(0);
  return 1 + ((len + 7) >> 3);
}

/** Write one prefix at buf[pos]; the caller has checked the room. Returns the new position. */
export function writePrefix(buf: Buffer, pos: number, p: Prefix): number {
  if (typeof p === 'number') {
    const len = p % V4_LEN_SCALE;
    const a = (p - len) / V4_LEN_SCALE;
    buf[pos++] = len;
    const n = (len + 7) >> 3;
    for (let i = 0; i < n; i++) buf[pos++] = (a >>> (24 - BITS_PER_OCTET * i)) & 0xff;
    return pos;
  }
  const n = p.length;
  for (let i = 0; i < n; i++) buf[pos++] = p.charCodeAt(i);
  return pos;
}

/** Write a path identifier at buf[pos]. */
export function writePathId(buf: Buffer, pos: number, id: number): number {
  buf[pos] = (id >>> 24) & 0xff;
  buf[pos + 1] = (id >>> 16) & 0xff;
  buf[pos + 2] = (id >>> 8) & 0xff;
  buf[pos + 3] = id & 0xff;
  return pos + PATH_ID_LEN;
}

/** Total wire size of a prefix list (with path identifiers when `addPath`). */
export function prefixesWireLength(prefixes: readonly Prefix[], addPath: boolean): number {
  let n = addPath ? prefixes.length * PATH_ID_LEN : 0;
  for (let i = 0; i < prefixes.length; i++) n += prefixWireLength(prefixes[i]!);
  return n;
}
