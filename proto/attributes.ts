/**
 * Path attributes (RFC 4271 §4.3, §5): one descriptor per type code, in one table (BIRD's
 * bgp_attr_table), so adding an attribute touches one entry. Each descriptor knows its flags,
 * its RFC 7606 §7 disposition when malformed, how to decode its value into PathAttributes and
 * how to encode it back. The UPDATE codec (update.ts) owns the attribute list: headers, lengths,
 * duplicates, flags checks, missing attributes, and the combination of dispositions.
 *
 *    0                   1
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Attr. Flags  |Attr. Type Code|   then Attribute Length: 1 octet, or 2 octets when the
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Extended Length bit (0x10) is set, then the value.
 *    O T P E 0 0 0 0
 *
 * Decoders get the value as buf[start, end) and the attribute header offset `hdr`, so an error
 * can carry the attribute exactly as received (RFC 4271 §6.3 Data: "the erroneous attribute
 * (type, length, and value)"), bounded by the message — never a length taken on trust
 * (CVE-2017-15865).
 *
 * Deviations, deliberate:
 * - AS4_PATH / AS4_AGGREGATOR are decoded on any session (not discarded on a 4-octet session);
 *   as4.ts uses them only when the peer is 2-octet.
 * - The Partial bit of a received known optional transitive attribute is not retained.
 */
import type { Buffer } from 'node:buffer';
import { AS_TRANS, AsPathSegmentType, AttrFlag, AttrType, Origin } from './constants.js';
import type { AsPathSegmentTypeCode, OriginCode } from './constants.js';
import { BgpError, Errors } from './errors.js';
import type { Disposition } from './errors.js';
import { decodePrefixes4, decodePrefixes6, writePathId, writePrefix, prefixWireLength } from './nlri.js';
import { formatIpv6, parseIpv6 } from './prefix.js';
import type { Prefix, Prefix4, Prefix6 } from './prefix.js';
import { Family, family } from './types.js';
import type { Address, AsPathSegment, CodecContext, MpReach, MpUnreach, PathAttributes } from './types.js';
import type { Writer } from './writer.js';

// --- internal (encode-side) errors ------------------------------------------------------------

/** Stable codes of encode-side errors: our own data cannot be put on the wire as asked. */
export const EncodeErrorCode = {
  /** An attribute set (with at least one prefix) does not fit in one message (packer.ts). */
  AttrsTooLarge: 'ERR_BGP_ATTRS_TOO_LARGE',
  /** A message would exceed the negotiated maximum size (RFC 4271 §4.1, RFC 8654). */
  MessageTooLarge: 'ERR_BGP_MESSAGE_TOO_LARGE',
  /** A value cannot be encoded (a 4-octet ASN on a 2-octet session, an AS_SET over 255, ...). */
  InvalidValue: 'ERR_BGP_ENCODE_INVALID',
} as const;
export type EncodeErrorCodeValue = (typeof EncodeErrorCode)[keyof typeof EncodeErrorCode];

/**
 * A programming or policy error on the sending side, never a peer's fault: it is not a BgpError
 * and never becomes a NOTIFICATION.
 */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  readonly code: EncodeErrorCodeValue;
  /** For AttrsTooLarge: indexes of the groups that could not be sent (packer.ts). */
  readonly groups: readonly number[];
  constructor(code: EncodeErrorCodeValue, message: string, groups: readonly number[] = []) {
    super(message);
    this.code = code;
    this.groups = groups;
  }
}

// --- shapes -----------------------------------------------------------------------------------

export type MutableAttrs = { -readonly [K in keyof PathAttributes]?: PathAttributes[K] };

/** Where decoders put what they find. MP_* live beside the attributes, as on UpdateMessage. */
export interface DecodeTarget {
  attrs: MutableAttrs;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** The AFI/SAFI of the MP_* attribute being decoded, once known (for AFI/SAFI disable). */
  mpFamily?: Family | undefined;
}

/** What encoders read: an UpdateMessage fits. */
export interface AttrSource {
  readonly attrs: PathAttributes | null;
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
}

export interface AttrDescriptor {
  readonly type: number;
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5 or its own RFC). */
  readonly flags: number;
  /** RFC 7606 §7 (or the attribute's RFC): how a malformed instance is handled. */
  readonly malformed: Disposition;
  /**
   * Decode buf[start, end) into `out`; `hdr` is where the attribute header starts. `flagsOk` is
   * false when the O/T bits conflicted: only MP_* look at it (RFC 7606 §5.3 (c) makes that an
   * NLRI-level error, which needs the AFI/SAFI). Throws BgpError.
   */
  readonly decode: (
    buf: Buffer,
    hdr: number,
    start: number,
    end: number,
    ctx: CodecContext,
    out: DecodeTarget,
    flagsOk: boolean,
  ) => void;
  readonly present: (src: AttrSource) => boolean;
  /** Write the value only; update.ts writes the header around it. */
  readonly encode: (src: AttrSource, ctx: CodecContext, w: Writer) => void;
}

const OPTIONAL = AttrFlag.Optional;
const TRANSITIVE = AttrFlag.Transitive;
/** RFC 4271 §4.3: well-known attributes are transitive and not optional. */
const WELL_KNOWN = TRANSITIVE;
const OPTIONAL_TRANSITIVE = OPTIONAL | TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = OPTIONAL;

const IPV4_LEN = 4;
const IPV6_LEN = 16;
const ASN2_LEN = 2;
const ASN4_LEN = 4;
const U32_LEN = 4;
const COMMUNITY_LEN = 4;
const EXT_COMMUNITY_LEN = 8; // RFC 4360 §2
const LARGE_COMMUNITY_LEN = 12; // RFC 8092 §3
const AS_SEGMENT_HEADER_LEN = 2;
const MAX_SEGMENT_ASNS = 255;
const MAX_ASN2 = 0xffff;
/** RFC 4760 §3: AFI (2) + SAFI (1) + next-hop length (1) + reserved (1). */
const MP_REACH_MIN_LEN = 5;
/** RFC 4760 §4: AFI (2) + SAFI (1). */
const MP_UNREACH_MIN_LEN = 3;

function raw(buf: Buffer, hdr: number, end: number): Buffer {
  return buf.subarray(hdr, end);
}

function u32(buf: Buffer, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

function lengthError(buf: Buffer, hdr: number, end: number, type: number, disposition: Disposition): BgpError {
  return Errors.attributeLength(raw(buf, hdr, end), type, disposition);
}

function present<K extends keyof PathAttributes>(key: K): (src: AttrSource) => boolean {
  return (src) => src.attrs !== null && src.attrs[key] !== undefined;
}

/** A 4-octet value attribute (MED, LOCAL_PREF, ORIGINATOR_ID, NEXT_HOP's shape). */
function fixedU32(
  type: number,
  name: string,
  flags: number,
  key: 'med' | 'localPref' | 'originatorId' | 'nextHop',
  subcodeIsNextHop = false,
): AttrDescriptor {
  return {
    type,
    name,
    flags,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      // RFC 7606 §7.3 (NEXT_HOP), §7.4 (MED), §7.5 (LOCAL_PREF), §7.9 (ORIGINATOR_ID): a length
      // other than 4 is malformed, treat-as-withdraw. CVE-2026-30405: NEXT_HOP shorter than 4.
      if (end - start !== U32_LEN) {
        throw subcodeIsNextHop
          ? Errors.attributeLength(raw(buf, hdr, end), type, 'treat-as-withdraw')
          : lengthError(buf, hdr, end, type, 'treat-as-withdraw');
      }
      out.attrs[key] = u32(buf, start);
    },
    present: present(key),
    encode(src, _ctx, w) {
      w.u32(src.attrs?.[key] ?? 0);
    },
  };
}

/** A list of fixed-size items; RFC 7606 says "a non-zero multiple of" the item size. */
function checkMultiple(buf: Buffer, hdr: number, start: number, end: number, type: number, unit: number): void {
  const len = end - start;
  if (len === 0 || len % unit !== 0) throw lengthError(buf, hdr, end, type, 'treat-as-withdraw');
}

// --- AS_PATH ----------------------------------------------------------------------------------

/**
 * RFC 4271 §4.3 AS_PATH: a sequence of segments, each
 *   +-----------------+-----------------+---------------------------------+
 *   | segment type(1) | segment len (1) | len ASNs of 2 or 4 octets each  |
 *   +-----------------+-----------------+---------------------------------+
 * RFC 7606 §7.2: malformed if a segment type is unrecognized, a segment length is zero, a
 * segment overruns the attribute, or fewer than 2 octets remain for a segment header.
 * Returns an error detail, or the segments.
 */
export function parseAsPath(buf: Buffer, start: number, end: number, asnLen: number): AsPathSegment[] | string {
  const segs: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (end - p < AS_SEGMENT_HEADER_LEN) return 'truncated segment header';
    const t = buf[p]!;
    const n = buf[p + 1]!;
    p += AS_SEGMENT_HEADER_LEN;
    if (t < AsPathSegmentType.Set || t > AsPathSegmentType.ConfedSet) return `unrecognized segment type ${t}`;
    if (n === 0) return 'zero-length segment';
    if (end - p < n * asnLen) return `segment of ${n} ASNs overruns the attribute`;
    const asns = new Array<number>(n);
    if (asnLen === ASN4_LEN) {
      for (let i = 0; i < n; i++, p += ASN4_LEN) asns[i] = u32(buf, p);
    } else {
      for (let i = 0; i < n; i++, p += ASN2_LEN) asns[i] = (buf[p]! << 8) | buf[p + 1]!;
    }
    segs.push({ type: t as AsPathSegmentTypeCode, asns });
  }
  // Exact-size result: a push-grown array keeps 17 slots, ~130 spare bytes in every interned
  // attribute set (rib/attrs.ts keeps the decoded lists).
  return segs.length === 1 ? [segs[0]!] : segs.slice();
}

/** Write segments; sequences longer than 255 ASNs are split (same path), sets cannot be. */
export function writeAsPath(w: Writer, segs: readonly AsPathSegment[], asnLen: number): void {
  for (const seg of segs) {
    const { asns } = seg;
    if (asns.length === 0) continue; // RFC 7606 §7.2: a zero-length segment is malformed; omit it
    const splittable = seg.type === AsPathSegmentType.Sequence || seg.type === AsPathSegmentType.ConfedSequence;
    if (asns.length > MAX_SEGMENT_ASNS && !splittable) {
      throw new EncodeError(EncodeErrorCode.InvalidValue, `AS_SET of ${asns.length} ASNs exceeds ${MAX_SEGMENT_ASNS}`);
    }
    for (let i = 0; i < asns.length; i += MAX_SEGMENT_ASNS) {
      const n = Math.min(MAX_SEGMENT_ASNS, asns.length - i);
      w.u8(seg.type).u8(n);
      for (let j = i; j < i + n; j++) {
        const asn = asns[j]!;
        if (asnLen === ASN2_LEN) {
          if (asn > MAX_ASN2) {
            throw new EncodeError(EncodeErrorCode.InvalidValue, `ASN ${asn} on a 2-octet session (use as4.ts)`);
          }
          w.u16(asn);
        } else w.u32(asn);
      }
    }
  }
}

// --- MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) -------------------------------------------------

/** Families whose NLRI this codec can parse. Others are skipped (RFC 4760 §7 leaves them). */
function knownFamily(f: Family): boolean {
  return f === Family.Ipv4Unicast || f === Family.Ipv6Unicast;
}

/**
 * RFC 7606 §5.3 / §7.11, RFC 4760 §7: an incorrect MP_* attribute means "AFI/SAFI disable" or
 * "session reset", with Optional Attribute Error. When the AFI/SAFI cannot be read, or is not one
 * we carry, there is nothing to disable: session reset.
 */
function mpError(buf: Buffer, hdr: number, end: number, type: number, out: DecodeTarget, detail: string): BgpError {
  const f = out.mpFamily;
  const disposition: Disposition = f !== undefined && knownFamily(f) ? 'afisafi-disable' : 'session-reset';
  return Errors.optionalAttribute(raw(buf, hdr, end), type, disposition, detail);
}

function decodeNlriInto(
  buf: Buffer,
  p: number,
  end: number,
  f: Family,
  ctx: CodecContext,
): { prefixes: Prefix[]; pathIds: number[] | null; err: string | null } {
  const pathIds = ctx.addPath.has(f) ? [] : null;
  if (f === Family.Ipv4Unicast) {
    const prefixes: Prefix4[] = [];
    return { prefixes, pathIds, err: decodePrefixes4(buf, p, end, prefixes, pathIds) };
  }
  const prefixes: Prefix6[] = [];
  return { prefixes, pathIds, err: decodePrefixes6(buf, p, end, prefixes, pathIds) };
}

/**
 * RFC 4760 §3 MP_REACH_NLRI:
 *   +---------------------------------------------------------+
 *   | Address Family Identifier (2 octets)                    |
 *   | Subsequent Address Family Identifier (1 octet)          |
 *   | Length of Next Hop Network Address (1 octet)            |
 *   | Network Address of Next Hop (variable)                  |
 *   | Reserved (1 octet)                                      |
 *   | Network Layer Reachability Information (variable)       |
 *   +---------------------------------------------------------+
 */
const mpReach: AttrDescriptor = {
  type: AttrType.MpReachNlri,
  name: 'MP_REACH_NLRI',
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: 'afisafi-disable',
  decode(buf, hdr, start, end, ctx, out, flagsOk) {
    const type = AttrType.MpReachNlri;
    if (end - start < MP_UNREACH_MIN_LEN) throw mpError(buf, hdr, end, type, out, 'too short for AFI/SAFI');
    const f = family((buf[start]! << 8) | buf[start + 1]!, buf[start + 2]!);
    out.mpFamily = f;
    // RFC 7606 §5.3 (c), (d): wrong flags, or a length under 5, make the attribute incorrect.
    if (!flagsOk) throw mpError(buf, hdr, end, type, out, 'attribute flags conflict');
    if (end - start < MP_REACH_MIN_LEN) throw mpError(buf, hdr, end, type, out, 'length under 5');
    if (!knownFamily(f)) return; // not ours to parse; nothing was negotiated for it
    const nhLen = buf[start + 3]!;
    const nhStart = start + 4;
    if (nhStart + nhLen + 1 > end) throw mpError(buf, hdr, end, type, out, `next hop length ${nhLen} overruns`);
    // RFC 7606 §7.11: a next-hop length other than expected means the NLRI cannot be located.
    let nextHop: Address;
    let linkLocal: string | undefined;
    const v6NextHopOk = f === Family.Ipv6Unicast || ctx.extendedNextHop?.has(f) === true; // RFC 2545, RFC 8950
    if (f === Family.Ipv4Unicast && nhLen === IPV4_LEN) {
      nextHop = u32(buf, nhStart);
    } else if (v6NextHopOk && (nhLen === IPV6_LEN || nhLen === 2 * IPV6_LEN)) {
      nextHop = formatIpv6(buf, nhStart);
      if (nhLen === 2 * IPV6_LEN) linkLocal = formatIpv6(buf, nhStart + IPV6_LEN);
    } else {
      throw mpError(buf, hdr, end, type, out, `unexpected next hop length ${nhLen}`);
    }
    // The Reserved octet (formerly the SNPA count) is ignored (RFC 4760 §3).
    const r = decodeNlriInto(buf, nhStart + nhLen + 1, end, f, ctx);
    if (r.err !== null) throw mpError(buf, hdr, end, type, out, r.err);
    const reach: { -readonly [K in keyof MpReach]: MpReach[K] } = {
      afi: f >>> 8,
      safi: f & 0xff,
      nextHop,
      nlri: r.prefixes,
    };
    if (linkLocal !== undefined) reach.linkLocal = linkLocal;
    if (r.pathIds !== null) reach.pathIds = r.pathIds;
    out.mpReach = reach;
  },
  present: (src) => src.mpReach !== undefined,
  encode(src, ctx, w) {
    const m = src.mpReach;
    if (m === undefined) return;
    const f = family(m.afi, m.safi);
    w.u16(m.afi).u8(m.safi);
    writeNextHop(w, f, m.nextHop, m.linkLocal, ctx);
    w.u8(0);
    writeNlri(w, m.nlri, ctx.addPath.has(f) ? m.pathIds ?? null : null, ctx.addPath.has(f));
  },
};

/** The next-hop length octet and address (RFC 4760 §3, RFC 2545 §3, RFC 8950 §3). */
export function writeNextHop(w: Writer, f: Family, nextHop: Address, linkLocal: string | undefined, ctx: CodecContext): void {
  if (typeof nextHop === 'number') {
    if (f !== Family.Ipv4Unicast) throw new EncodeError(EncodeErrorCode.InvalidValue, 'IPv4 next hop for a non-IPv4 family');
    w.u8(IPV4_LEN).u32(nextHop);
    return;
  }
  if (f !== Family.Ipv6Unicast && ctx.extendedNextHop?.has(f) !== true) {
    throw new EncodeError(EncodeErrorCode.InvalidValue, 'IPv6 next hop without RFC 8950 extended next hop');
  }
  const g = parseIpv6(nextHop);
  const ll = linkLocal === undefined ? null : parseIpv6(linkLocal);
  if (g === null || (linkLocal !== undefined && ll === null)) {
    throw new EncodeError(EncodeErrorCode.InvalidValue, `bad IPv6 next hop ${nextHop}`);
  }
  w.u8(ll === null ? IPV6_LEN : 2 * IPV6_LEN).bytes(g);
  if (ll !== null) w.bytes(ll);
}

/** Write a prefix list (with path identifiers when ADD-PATH is on; a missing id is sent as 0). */
export function writeNlri(w: Writer, prefixes: readonly Prefix[], pathIds: readonly number[] | null, addPath: boolean): void {
  let need = 0;
  for (const p of prefixes) need += prefixWireLength(p) + (addPath ? 4 : 0);
  w.fill(0, need);
  let pos = w.pos - need;
  for (let i = 0; i < prefixes.length; i++) {
    if (addPath) pos = writePathId(w.buf, pos, pathIds?.[i] ?? 0);
    pos = writePrefix(w.buf, pos, prefixes[i]!);
  }
}

/**
 * RFC 4760 §4 MP_UNREACH_NLRI:
 *   +---------------------------------------------------------+
 *   | Address Family Identifier (2 octets)                    |
 *   | Subsequent Address Family Identifier (1 octet)          |
 *   | Withdrawn Routes (variable)                             |
 *   +---------------------------------------------------------+
 */
const mpUnreach: AttrDescriptor = {
  type: AttrType.MpUnreachNlri,
  name: 'MP_UNREACH_NLRI',
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: 'afisafi-disable',
  decode(buf, hdr, start, end, ctx, out, flagsOk) {
    const type = AttrType.MpUnreachNlri;
    // RFC 7606 §5.3 (d): shorter than 3 is incorrect (and the AFI/SAFI is unknown: reset).
    if (end - start < MP_UNREACH_MIN_LEN) throw mpError(buf, hdr, end, type, out, 'length under 3');
    const f = family((buf[start]! << 8) | buf[start + 1]!, buf[start + 2]!);
    out.mpFamily = f;
    if (!flagsOk) throw mpError(buf, hdr, end, type, out, 'attribute flags conflict');
    if (!knownFamily(f)) {
      // Still worth reporting an End-of-RIB for it (RFC 4724 §2), so keep an empty record.
      if (end - start === MP_UNREACH_MIN_LEN) out.mpUnreach = { afi: f >>> 8, safi: f & 0xff, withdrawn: [] };
      return;
    }
    const r = decodeNlriInto(buf, start + MP_UNREACH_MIN_LEN, end, f, ctx);
    if (r.err !== null) throw mpError(buf, hdr, end, type, out, r.err);
    const un: { -readonly [K in keyof MpUnreach]: MpUnreach[K] } = { afi: f >>> 8, safi: f & 0xff, withdrawn: r.prefixes };
    if (r.pathIds !== null) un.pathIds = r.pathIds;
    out.mpUnreach = un;
  },
  present: (src) => src.mpUnreach !== undefined,
  encode(src, ctx, w) {
    const m = src.mpUnreach;
    if (m === undefined) return;
    const f = family(m.afi, m.safi);
    w.u16(m.afi).u8(m.safi);
    writeNlri(w, m.withdrawn, ctx.addPath.has(f) ? m.pathIds ?? null : null, ctx.addPath.has(f));
  },
};

// --- the table --------------------------------------------------------------------------------

function aggregatorDescriptor(type: number, name: string, key: 'aggregator' | 'as4Aggregator'): AttrDescriptor {
  return {
    type,
    name,
    flags: OPTIONAL_TRANSITIVE,
    // RFC 7606 §7.7 (AGGREGATOR) and RFC 6793 §6 (AS4_AGGREGATOR): attribute discard.
    malformed: 'attribute-discard',
    decode(buf, hdr, start, end, ctx, out) {
      // RFC 7606 §7.7: 6 octets on a 2-octet session, 8 on a 4-octet one; AS4_AGGREGATOR is
      // always 8 (RFC 6793 §3).
      const asnLen = key === 'as4Aggregator' || ctx.fourOctetAs ? ASN4_LEN : ASN2_LEN;
      if (end - start !== asnLen + IPV4_LEN) throw lengthError(buf, hdr, end, type, 'attribute-discard');
      const asn = asnLen === ASN4_LEN ? u32(buf, start) : (buf[start]! << 8) | buf[start + 1]!;
      out.attrs[key] = { asn, address: u32(buf, start + asnLen) };
    },
    present: present(key),
    encode(src, ctx, w) {
      const a = src.attrs?.[key];
      if (a === undefined) return;
      if (key === 'as4Aggregator' || ctx.fourOctetAs) w.u32(a.asn);
      else w.u16(a.asn > MAX_ASN2 ? AS_TRANS : a.asn); // RFC 6793 §4.2.2
      w.u32(a.address);
    },
  };
}

const DESCRIPTORS: readonly AttrDescriptor[] = [
  mpReach,
  mpUnreach,
  {
    type: AttrType.Origin,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      // RFC 7606 §7.1: length other than 1, or an undefined value: treat-as-withdraw.
      if (end - start !== 1) throw lengthError(buf, hdr, end, AttrType.Origin, 'treat-as-withdraw');
      const v = buf[start]!;
      if (v > Origin.Incomplete) throw Errors.invalidOrigin(raw(buf, hdr, end));
      out.attrs.origin = v as OriginCode;
    },
    present: present('origin'),
    encode(src, _ctx, w) {
      w.u8(src.attrs?.origin ?? Origin.Incomplete);
    },
  },
  {
    type: AttrType.AsPath,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw',
    decode(buf, _hdr, start, end, ctx, out) {
      const r = parseAsPath(buf, start, end, ctx.fourOctetAs ? ASN4_LEN : ASN2_LEN);
      if (typeof r === 'string') throw Errors.malformedAsPath(r); // RFC 7606 §7.2
      out.attrs.asPath = r;
    },
    present: present('asPath'),
    encode(src, ctx, w) {
      writeAsPath(w, src.attrs?.asPath ?? [], ctx.fourOctetAs ? ASN4_LEN : ASN2_LEN);
    },
  },
  fixedU32(AttrType.NextHop, 'NEXT_HOP', WELL_KNOWN, 'nextHop', true),
  fixedU32(AttrType.MultiExitDisc, 'MULTI_EXIT_DISC', OPTIONAL_NON_TRANSITIVE, 'med'),
  fixedU32(AttrType.LocalPref, 'LOCAL_PREF', WELL_KNOWN, 'localPref'),
  {
    type: AttrType.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    malformed: 'attribute-discard',
    decode(buf, hdr, start, end, _ctx, out) {
      // RFC 7606 §7.6: a length other than 0 is malformed: attribute discard.
      if (end !== start) throw lengthError(buf, hdr, end, AttrType.AtomicAggregate, 'attribute-discard');
      out.attrs.atomicAggregate = true;
    },
    present: (src) => src.attrs?.atomicAggregate === true,
    encode() {},
  },
  aggregatorDescriptor(AttrType.Aggregator, 'AGGREGATOR', 'aggregator'),
  {
    type: AttrType.Communities,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      checkMultiple(buf, hdr, start, end, AttrType.Communities, COMMUNITY_LEN); // RFC 7606 §7.8
      const n = (end - start) / COMMUNITY_LEN;
      const list = new Array<number>(n);
      for (let i = 0; i < n; i++) list[i] = u32(buf, start + i * COMMUNITY_LEN);
      out.attrs.communities = list;
    },
    present: present('communities'),
    encode(src, _ctx, w) {
      for (const c of src.attrs?.communities ?? []) w.u32(c);
    },
  },
  fixedU32(AttrType.OriginatorId, 'ORIGINATOR_ID', OPTIONAL_NON_TRANSITIVE, 'originatorId'),
  {
    type: AttrType.ClusterList,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL_NON_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      checkMultiple(buf, hdr, start, end, AttrType.ClusterList, U32_LEN); // RFC 7606 §7.10
      const n = (end - start) / U32_LEN;
      const list = new Array<number>(n);
      for (let i = 0; i < n; i++) list[i] = u32(buf, start + i * U32_LEN);
      out.attrs.clusterList = list;
    },
    present: present('clusterList'),
    encode(src, _ctx, w) {
      for (const c of src.attrs?.clusterList ?? []) w.u32(c);
    },
  },
  {
    type: AttrType.ExtendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      checkMultiple(buf, hdr, start, end, AttrType.ExtendedCommunities, EXT_COMMUNITY_LEN); // RFC 7606 §7 (Extended Community): non-zero multiple of 8
      const list: Uint8Array[] = [];
      for (let p = start; p < end; p += EXT_COMMUNITY_LEN) list.push(Uint8Array.from(buf.subarray(p, p + EXT_COMMUNITY_LEN)));
      out.attrs.extendedCommunities = list;
    },
    present: present('extendedCommunities'),
    encode(src, _ctx, w) {
      for (const c of src.attrs?.extendedCommunities ?? []) {
        if (c.length !== EXT_COMMUNITY_LEN) throw new EncodeError(EncodeErrorCode.InvalidValue, 'extended community not 8 octets');
        w.bytes(c);
      }
    },
  },
  {
    type: AttrType.As4Path,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard',
    decode(buf, hdr, start, end, _ctx, out) {
      // RFC 6793 §6: a malformed AS4_PATH is discarded ("attribute discard"), and AS_CONFED_*
      // segments in it "MUST be discarded" while the rest is kept.
      const r = parseAsPath(buf, start, end, ASN4_LEN);
      if (typeof r === 'string') throw Errors.optionalAttribute(raw(buf, hdr, end), AttrType.As4Path, 'attribute-discard', r);
      out.attrs.as4Path = r.filter((s) => s.type === AsPathSegmentType.Sequence || s.type === AsPathSegmentType.Set);
    },
    present: present('as4Path'),
    encode(src, _ctx, w) {
      writeAsPath(w, src.attrs?.as4Path ?? [], ASN4_LEN);
    },
  },
  aggregatorDescriptor(AttrType.As4Aggregator, 'AS4_AGGREGATOR', 'as4Aggregator'),
  {
    type: AttrType.LargeCommunities,
    name: 'LARGE_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw',
    decode(buf, hdr, start, end, _ctx, out) {
      checkMultiple(buf, hdr, start, end, AttrType.LargeCommunities, LARGE_COMMUNITY_LEN); // RFC 8092 §6
      const list: (readonly [number, number, number])[] = [];
      for (let p = start; p < end; p += LARGE_COMMUNITY_LEN) list.push([u32(buf, p), u32(buf, p + 4), u32(buf, p + 8)]);
      out.attrs.largeCommunities = list;
    },
    present: present('largeCommunities'),
    encode(src, _ctx, w) {
      for (const [g, a, b] of src.attrs?.largeCommunities ?? []) w.u32(g).u32(a).u32(b);
    },
  },
];

/** Descriptor by type code (index = type code), BIRD's bgp_attr_table. */
export const ATTRIBUTES: readonly (AttrDescriptor | undefined)[] = (() => {
  const t = new Array<AttrDescriptor | undefined>(256).fill(undefined);
  for (const d of DESCRIPTORS) t[d.type] = d;
  return t;
})();

/** Encoding order: MP_* first (RFC 7606 §5.1 "SHOULD be encoded as the very first"), then type code order. */
export const ENCODE_ORDER: readonly AttrDescriptor[] = [mpReach, mpUnreach, ...DESCRIPTORS.filter((d) => d !== mpReach && d !== mpUnreach).sort((a, b) => a.type - b.type)];

export const FLAGS_OT = OPTIONAL | TRANSITIVE;
