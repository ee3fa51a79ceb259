/**
 * Compact prefixes. The RIB holds a million of them, so a prefix is a primitive, not an object:
 * - IPv4: a number, `address * 64 + length` (address is the 32-bit network address with host bits
 *   cleared). It is exact (below 2^38), hashes as a small number in a Map, and sorts by address
 *   then length.
 * - IPv6: a latin1 string, one char for the length then ceil(length/8) address bytes, host bits
 *   cleared. Equal prefixes are equal strings.
 * `typeof p === 'number'` tells the family. ip-address is for config and CLI edges; this module is
 * the hot path.
 */
import { Buffer } from 'node:buffer';

export type Prefix4 = number;
export type Prefix6 = string;
export type Prefix = Prefix4 | Prefix6;

export function isV4(p: Prefix): p is Prefix4 {
  return typeof p === 'number';
}

/** The IPv4 netmask for a length, as an unsigned 32-bit number. */
export function mask4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function prefix4(address: number, len: number): Prefix4 {
  return ((address & mask4(len)) >>> 0) * 64 + len;
}

export function prefix4Address(p: Prefix4): number {
  return Math.floor(p / 64);
}

export function prefix4Length(p: Prefix4): number {
  return p % 64;
}

/** Build an IPv6 prefix from address bytes (at least ceil(len/8) of them are read). */
export function prefix6(bytes: Uint8Array, len: number, offset = 0): Prefix6 {
  const n = (len + 7) >> 3;
  let s = String.fromCharCode(len);
  for (let i = 0; i < n; i++) {
    let b = bytes[offset + i] ?? 0;
    if (i === n - 1 && (len & 7) !== 0) b &= (0xff << (8 - (len & 7))) & 0xff;
    s += String.fromCharCode(b);
  }
  return s;
}

export function prefix6Length(p: Prefix6): number {
  return p.charCodeAt(0);
}

/** The 16 address bytes of an IPv6 prefix (host bits zero). */
export function prefix6Bytes(p: Prefix6): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 1; i < p.length; i++) out[i - 1] = p.charCodeAt(i);
  return out;
}

export function prefixLength(p: Prefix): number {
  return typeof p === 'number' ? p % 64 : p.charCodeAt(0);
}

export function prefixAfi(p: Prefix): 1 | 2 {
  return typeof p === 'number' ? 1 : 2;
}

// --- addresses ------------------------------------------------------------------------------

export function formatIpv4(a: number): string {
  return `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Strict dotted-quad: four decimal octets 0..255, no leading zeros beyond "0". */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** RFC 5952 text form: lowercase, longest run (>= 2) of zero groups compressed, first on ties. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // RFC 5952 §5: an IPv4-mapped address is written with its dotted-quad tail.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(((groups[6]! << 16) | groups[7]!) >>> 0)}`;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Parse an IPv6 address (with optional embedded IPv4 tail) into 16 bytes; null if invalid. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let v4tail: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > lastColon) {
    v4tail = parseIpv4(text.slice(lastColon + 1));
    if (v4tail === null) return null;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (left === null || right === null || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4tail !== null) {
    out[12] = v4tail >>> 24;
    out[13] = (v4tail >>> 16) & 0xff;
    out[14] = (v4tail >>> 8) & 0xff;
    out[15] = v4tail & 0xff;
  }
  return out;
}

// --- prefixes as text -----------------------------------------------------------------------

export function formatPrefix(p: Prefix): string {
  if (typeof p === 'number') return `${formatIpv4(prefix4Address(p))}/${prefix4Length(p)}`;
  return `${formatIpv6(prefix6Bytes(p))}/${prefix6Length(p)}`;
}

export interface ParsedPrefix {
  readonly prefix: Prefix;
  /** True when the text had bits set beyond the length (e.g. 10.0.0.1/8): a config error. */
  readonly hostBitsSet: boolean;
}

/** Parse "a.b.c.d/n" or "x::/n". A bare address is a host prefix (/32 or /128). */
export function parsePrefix(text: string): ParsedPrefix | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? null : text.slice(slash + 1);
  if (lenText !== null && !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const v4 = parseIpv4(addr);
  if (v4 !== null) {
    const len = lenText === null ? 32 : Number(lenText);
    if (len > 32) return null;
    const p = prefix4(v4, len);
    return { prefix: p, hostBitsSet: prefix4Address(p) !== v4 };
  }
  const v6 = parseIpv6(addr);
  if (v6 === null) return null;
  const len = lenText === null ? 128 : Number(lenText);
  if (len > 128) return null;
  const p = prefix6(v6, len);
  const clean = prefix6Bytes(p);
  return { prefix: p, hostBitsSet: !Buffer.from(clean).equals(Buffer.from(v6)) };
}

/** Does `outer` contain `inner` (same family, inner at least as long, same leading bits)? */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (typeof outer === 'number') {
    if (typeof inner !== 'number') return false;
    const ol = prefix4Length(outer);
    if (prefix4Length(inner) < ol) return false;
    return ((prefix4Address(inner) & mask4(ol)) >>> 0) === prefix4Address(outer);
  }
  if (typeof inner === 'number') return false;
  const ol = prefix6Length(outer);
  if (prefix6Length(inner) < ol) return false;
  return prefix6(prefix6Bytes(inner), ol) === outer;
}

/** Does the prefix contain the address (IPv4 as a number, IPv6 as 16 bytes)? */
export function prefixContainsAddress(p: Prefix, address: number | Uint8Array): boolean {
  if (typeof p === 'number') {
    return typeof address === 'number' && ((address & mask4(prefix4Length(p))) >>> 0) === prefix4Address(p);
  }
  if (typeof address === 'number') return false;
  return prefix6(address, prefix6Length(p)) === p;
}
