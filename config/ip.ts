// Strict address and prefix parsing for the config loader.
//
// IPv4 is parsed by hand because the dotted-quad rules we want are stricter than inet_aton's
// (no leading zeros: "010.1.1.1" is octal to some tools and decimal to others, so it is refused).
// IPv6 is validated and canonicalised by `ip-address` (RFC 5952 text form), which is also the
// form Calico uses for protocol names and for the passive-side string comparison
// (calico.md §1.3: the comparison is on the textual IP, so the text form must be canonical).

import { Address6 } from 'ip-address';

export type Family = 'ipv4' | 'ipv6';

export interface ParsedAddress {
  readonly family: Family;
  /** canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6 */
  readonly text: string;
  readonly value: bigint;
}

export interface ParsedPrefix {
  readonly family: Family;
  /** canonical `network/length` */
  readonly cidr: string;
  readonly network: bigint;
  readonly length: number;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const bitsOf = (family: Family): number => (family === 'ipv4' ? 32 : 128);

function parseV4(text: string): ParsedAddress | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return { family: 'ipv4', text, value };
}

function parseV6(text: string): ParsedAddress | undefined {
  // Zone ids and embedded prefixes are not addresses for our purposes.
  if (text.includes('%') || text.includes('/') || !text.includes(':')) return undefined;
  if (!Address6.isValid(text)) return undefined;
  const a = new Address6(text);
  const value = a.bigInt();
  return { family: 'ipv6', text: Address6.fromBigInt(value).correctForm(), value };
}

export function parseAddress(text: string): ParseResult<ParsedAddress> {
  const a = text.includes(':') ? parseV6(text) : parseV4(text);
  return a === undefined ? { ok: false, reason: `'${text}' is not a valid IP address` } : { ok: true, value: a };
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 'ipv6') return Address6.fromBigInt(value).correctForm();
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

function splitLength(text: string, family: Family): number | undefined {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= bitsOf(family) ? n : undefined;
}

const maskOf = (family: Family, length: number): bigint => {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(length))) - 1n);
};

/** An address with its subnet length, host bits allowed (the node's own address, `10.160.105.6/24`). */
export interface ParsedInterfaceAddress {
  readonly address: ParsedAddress;
  readonly length: number;
  readonly network: ParsedPrefix;
}

export function parseInterfaceAddress(text: string): ParseResult<ParsedInterfaceAddress> {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: `'${text}' needs a prefix length (address/length), e.g. '${text}/24'` };
  const a = parseAddress(text.slice(0, slash));
  if (!a.ok) return a;
  const length = splitLength(text.slice(slash + 1), a.value.family);
  if (length === undefined) return { ok: false, reason: `'${text}' has an invalid prefix length` };
  const network = a.value.value & maskOf(a.value.family, length);
  return {
    ok: true,
    value: {
      address: a.value,
      length,
      network: { family: a.value.family, cidr: `${formatAddress(a.value.family, network)}/${length}`, network, length },
    },
  };
}

/** A network prefix: host bits must be zero (the error names the network address to use instead). */
export function parsePrefix(text: string): ParseResult<ParsedPrefix> {
  const ia = parseInterfaceAddress(text);
  if (!ia.ok) {
    if (!text.includes('/')) return { ok: false, reason: `'${text}' is not a prefix (address/length)` };
    return { ok: false, reason: ia.reason.replace('needs a prefix length', 'is not a prefix') };
  }
  if (ia.value.network.network !== ia.value.address.value) {
    return { ok: false, reason: `'${text}' has host bits set; did you mean '${ia.value.network.cidr}'?` };
  }
  return { ok: true, value: ia.value.network };
}

export function prefixContains(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  return (
    outer.family === inner.family &&
    outer.length <= inner.length &&
    (inner.network & maskOf(outer.family, outer.length)) === outer.network
  );
}

export function prefixesOverlap(a: ParsedPrefix, b: ParsedPrefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

export function prefixContainsAddress(p: ParsedPrefix, a: ParsedAddress): boolean {
  return p.family === a.family && (a.value & maskOf(p.family, p.length)) === p.network;
}

/** `host:port`, `[v6]:port`; the host must be an IP address (config/ does no name resolution). */
export function parseHostPort(text: string): ParseResult<{ address: ParsedAddress; port: number }> {
  const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(text) ?? /^([^:[\]]+):([0-9]+)$/.exec(text);
  if (m === null) return { ok: false, reason: `'${text}' is not host:port (use [addr]:port for IPv6)` };
  const a = parseAddress(m[1] ?? '');
  if (!a.ok) return a;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, reason: `port ${m[2] ?? ''} in '${text}' is outside 1..65535` };
  }
  return { ok: true, value: { address: a.value, port } };
}
