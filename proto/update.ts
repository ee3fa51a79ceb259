/**
 * UPDATE message codec (RFC 4271 §4.3), with the error handling of RFC 7606.
 *
 *   +-----------------------------------------------------+
 *   |   Withdrawn Routes Length (2 octets)                |
 *   +-----------------------------------------------------+
 *   |   Withdrawn Routes (variable)                       |
 *   +-----------------------------------------------------+
 *   |   Total Path Attribute Length (2 octets)            |
 *   +-----------------------------------------------------+
 *   |   Path Attributes (variable)                        |
 *   +-----------------------------------------------------+
 *   |   Network Layer Reachability Information (variable) |
 *   +-----------------------------------------------------+
 *
 * preceded by the 19-octet header (16 x 0xff marker, 2-octet length, type 2).
 *
 * decodeUpdate keeps the strongest RFC 7606 disposition it meets (§3 (h)) and returns it in the
 * UpdateOutcome; it throws only a session-reset BgpError, and nothing else (a frame of any size
 * from 19 octets is safe).
 */
import type { Buffer } from 'node:buffer';
import { AttrFlag, AttrType, HEADER_LEN, MARKER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MessageType, MIN_UPDATE_LEN } from './constants.js';
import { BgpError, Errors } from './errors.js';
import { ATTRIBUTES, ENCODE_ORDER, EncodeError, EncodeErrorCode, FLAGS_OT, writeNlri } from './attributes.js';
import type { AttrSource, DecodeTarget, MutableAttrs } from './attributes.js';
import { decodePrefixes4 } from './nlri.js';
import type { Prefix4 } from './prefix.js';
import { Family } from './types.js';
import type { CodecContext, UnknownAttribute, UpdateMessage, UpdateOutcome } from './types.js';
import { Writer } from './writer.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const LENGTH_FIELD_LEN = 2;
const ATTR_HEADER_LEN = 3;
const ATTR_HEADER_EXT_LEN = 4;
const MAX_ATTR_LEN_SHORT = 0xff;
const MAX_ATTR_LEN_EXT = 0xffff;
const LENGTH_OFFSET = MARKER_LEN;
/** Number of attribute type codes (one octet). */
const TYPE_CODES = 256;

const NONE: readonly never[] = Object.freeze([]);

/** The negotiated maximum message size (RFC 4271 §4.1; RFC 8654 §4 once Extended Message is agreed). */
export function maxUpdateLength(ctx: CodecContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
}

/** Collects the non-fatal outcome while decoding; a session reset is thrown at once. */
class Verdict {
  treatAsWithdraw = false;
  disable: Family[] | null = null;
  discarded: number[] | null = null;
  errors: BgpError[] | null = null;

  note(e: BgpError, family: Family | undefined): void {
    if (e.disposition === 'session-reset') throw e;
    (this.errors ??= []).push(e);
    switch (e.disposition) {
      case 'treat-as-withdraw':
        this.treatAsWithdraw = true;
        break;
      case 'afisafi-disable':
        if (family !== undefined) (this.disable ??= []).push(family);
        break;
      case 'attribute-discard':
        if (e.attrType !== undefined) (this.discarded ??= []).push(e.attrType);
        break;
    }
  }
}

/**
 * Decode a whole UPDATE frame (header included). Withdrawn routes, attributes and NLRI are cut at
 * their declared lengths, which are first checked against the message (RFC 4271 §6.3: "If the
 * Withdrawn Routes Length or Total Attribute Length is too large ... Malformed Attribute List";
 * RFC 7606 §3 (j): without them the NLRI cannot be located, so session reset).
 */
export function decodeUpdate(frame: Buffer, ctx: CodecContext): UpdateOutcome {
  const end = frame.length;
  if (end < MIN_UPDATE_LEN) throw Errors.badMessageLength(end >= HEADER_LEN ? frame.readUInt16BE(LENGTH_OFFSET) : end);
  let pos = HEADER_LEN;
  const wdLen = (frame[pos]! << 8) | frame[pos + 1]!;
  pos += LENGTH_FIELD_LEN;
  if (wdLen > end - pos - LENGTH_FIELD_LEN) throw Errors.malformedAttributeList('withdrawn routes length overruns the message');
  const wdStart = pos;
  const wdEnd = pos + wdLen;
  pos = wdEnd;
  const attrLen = (frame[pos]! << 8) | frame[pos + 1]!;
  pos += LENGTH_FIELD_LEN;
  if (attrLen > end - pos) throw Errors.malformedAttributeList('total path attribute length overruns the message');
  const attrStart = pos;
  const attrEnd = pos + attrLen;

  // RFC 7606 §3 (i): the Withdrawn Routes field is checked like the NLRI field (§5.3: reset).
  const addPath4 = ctx.addPath.has(Family.Ipv4Unicast);
  const withdrawn: Prefix4[] = [];
  const withdrawnIds: number[] | null = addPath4 ? [] : null;
  if (wdLen > 0) {
    const err = decodePrefixes4(frame, wdStart, wdEnd, withdrawn, withdrawnIds);
    if (err !== null) throw Errors.invalidNetworkField(`withdrawn routes: ${err}`);
  }

  const verdict = new Verdict();
  const target: DecodeTarget = { attrs: {} };
  let attrCount = 0;
  let seen: Uint8Array | null = null;
  let unknown: UnknownAttribute[] | null = null;
  let listCut = false;
  let p = attrStart;
  while (p < attrEnd) {
    const hdr = p;
    const flags = frame[p]!;
    const ext = (flags & AttrFlag.ExtendedLength) !== 0;
    // RFC 7606 §4: fewer octets than an attribute header, or an attribute overrunning the Total
    // Attribute Length: treat-as-withdraw, and rely on the Total Attribute Length for the NLRI.
    if (attrEnd - p < (ext ? ATTR_HEADER_EXT_LEN : ATTR_HEADER_LEN)) {
      verdict.note(Errors.attributeLength(frame.subarray(hdr, attrEnd), frame[p + 1] ?? 0, 'treat-as-withdraw'), undefined);
      listCut = true;
      break;
    }
    const type = frame[p + 1]!;
    const len = ext ? (frame[p + 2]! << 8) | frame[p + 3]! : frame[p + 2]!;
    const vStart = p + (ext ? ATTR_HEADER_EXT_LEN : ATTR_HEADER_LEN);
    const vEnd = vStart + len;
    if (vEnd > attrEnd) {
      // An MP_* attribute cut short carries NLRI we can no longer locate (RFC 7606 §3 (j)).
      const mp = type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri;
      verdict.note(Errors.attributeLength(frame.subarray(hdr, attrEnd), type, mp ? 'session-reset' : 'treat-as-withdraw'), undefined);
      listCut = true;
      break;
    }
    p = vEnd;
    attrCount++;
    seen ??= new Uint8Array(TYPE_CODES);
    if (seen[type] !== 0) {
      // RFC 7606 §3 (g): MP_* twice is a Malformed Attribute List; any other attribute: keep
      // the first occurrence, discard the rest, and carry on.
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        throw Errors.malformedAttributeList(`attribute ${type} appears more than once`);
      }
      (verdict.discarded ??= []).push(type);
      continue;
    }
    seen[type] = 1;
    const d = ATTRIBUTES[type];
    if (d === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        // RFC 4271 §6.3: an unrecognized well-known attribute; RFC 7606 keeps session reset.
        throw Errors.unrecognizedWellKnown(frame.subarray(hdr, vEnd), type);
      }
      // RFC 4271 §5: an unrecognized optional transitive attribute is passed on with the
      // Partial bit set; an optional non-transitive one is quietly ignored.
      if ((flags & AttrFlag.Transitive) !== 0) {
        (unknown ??= []).push({
          flags: (flags & (FLAGS_OT | AttrFlag.Partial)) | AttrFlag.Partial,
          typeCode: type,
          value: Uint8Array.from(frame.subarray(vStart, vEnd)),
        });
      }
      continue;
    }
    // RFC 7606 §3 (c): only the Optional and Transitive bits are compared (the Extended Length
    // bit and the four unused low-order bits are ignored: OpenBGPD once reset sessions over a
    // reserved bit on AGGREGATOR). A conflict makes the attribute malformed, handled with its
    // own disposition (MP_* decide theirs, RFC 7606 §5.3 (c)).
    const flagsOk = (flags & FLAGS_OT) === d.flags;
    target.mpFamily = undefined;
    if (!flagsOk && d.type !== AttrType.MpReachNlri && d.type !== AttrType.MpUnreachNlri) {
      verdict.note(Errors.attributeFlags(frame.subarray(hdr, vEnd), type, d.malformed), undefined);
      continue;
    }
    try {
      d.decode(frame, hdr, vStart, vEnd, ctx, target, flagsOk);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      verdict.note(e, target.mpFamily);
    }
  }

  const nlri: Prefix4[] = [];
  const nlriIds: number[] | null = addPath4 ? [] : null;
  if (attrEnd < end) {
    // RFC 7606 §5.3: a syntactically incorrect NLRI field is a session reset.
    const err = decodePrefixes4(frame, attrEnd, end, nlri, nlriIds);
    if (err !== null) throw Errors.invalidNetworkField(`NLRI: ${err}`);
  }

  // RFC 7606 §3 (d): a missing well-known mandatory attribute is treat-as-withdraw. They are
  // only mandatory when something is announced: an UPDATE that withdraws only, or carries
  // attributes without any NLRI, is not held to them. NEXT_HOP is only required for the NLRI
  // field (RFC 4760 §3 makes it discretionary for MP_REACH_NLRI). Presence on the wire counts,
  // so a malformed ORIGIN is not also reported missing; and when the list was cut short (already
  // treat-as-withdraw) what follows the cut is unknown, not missing.
  const reach = !listCut && (nlri.length > 0 || (seen !== null && seen[AttrType.MpReachNlri] !== 0));
  if (reach) {
    if (seen === null || seen[AttrType.Origin] === 0) verdict.note(Errors.missingWellKnown(AttrType.Origin), undefined);
    if (seen === null || seen[AttrType.AsPath] === 0) verdict.note(Errors.missingWellKnown(AttrType.AsPath), undefined);
    if (nlri.length > 0 && (seen === null || seen[AttrType.NextHop] === 0)) {
      verdict.note(Errors.missingWellKnown(AttrType.NextHop), undefined);
    }
  }

  const attrs: MutableAttrs = target.attrs;
  if (unknown !== null) attrs.unknown = unknown;
  const message: Mutable<UpdateMessage> = {
    type: 'update',
    withdrawn,
    attrs: attrLen === 0 ? null : attrs,
    nlri,
  };
  if (withdrawnIds !== null) message.withdrawnPathIds = withdrawnIds;
  if (nlriIds !== null) message.nlriPathIds = nlriIds;
  if (target.mpReach !== undefined) message.mpReach = target.mpReach;
  if (target.mpUnreach !== undefined) message.mpUnreach = target.mpUnreach;

  const outcome: Mutable<UpdateOutcome> = {
    message,
    treatAsWithdraw: verdict.treatAsWithdraw,
    disableFamilies: verdict.disable ?? NONE,
    discarded: verdict.discarded ?? NONE,
    errors: verdict.errors ?? NONE,
  };
  // RFC 4724 §2: End-of-RIB is an empty UPDATE for IPv4 unicast, and for other families an UPDATE
  // whose only content is an MP_UNREACH_NLRI with no withdrawn routes. Anything else (another
  // attribute, an error) is not one (CVE-2023-47235).
  if (end === MIN_UPDATE_LEN) {
    outcome.endOfRib = Family.Ipv4Unicast;
  } else if (
    wdLen === 0 &&
    attrCount === 1 &&
    attrEnd === end &&
    verdict.errors === null &&
    target.mpUnreach !== undefined &&
    target.mpUnreach.withdrawn.length === 0
  ) {
    outcome.endOfRib = (target.mpUnreach.afi << 8) | target.mpUnreach.safi;
  }
  return outcome;
}

/** Write the 19-octet header with a zero length; patchHeader fills it in. */
export function writeUpdateHeader(w: Writer, type: number = MessageType.Update): void {
  w.fill(0xff, MARKER_LEN).u16(0).u8(type);
}

/** Start a path attribute: header with a 2-octet length for now; returns its offset. */
function beginAttribute(w: Writer, flags: number, type: number): number {
  const hdr = w.pos;
  w.u8(flags | AttrFlag.ExtendedLength).u8(type).u16(0);
  return hdr;
}

/**
 * Finish the attribute begun at `hdr`: set its length, and drop to a 1-octet length (clearing
 * the Extended Length bit) when the value fits in 255 octets (RFC 4271 §4.3).
 */
function finishAttribute(w: Writer, hdr: number): void {
  const len = w.pos - hdr - ATTR_HEADER_EXT_LEN;
  if (len > MAX_ATTR_LEN_EXT) {
    throw new EncodeError(EncodeErrorCode.MessageTooLarge, `attribute ${w.buf[hdr + 1]} of ${len} octets`);
  }
  const buf = w.buf;
  if (len <= MAX_ATTR_LEN_SHORT) {
    buf.copyWithin(hdr + ATTR_HEADER_LEN, hdr + ATTR_HEADER_EXT_LEN, w.pos);
    w.pos--;
    buf[hdr] = buf[hdr]! & ~AttrFlag.ExtendedLength;
    buf[hdr + 2] = len;
  } else {
    buf[hdr + 2] = len >>> 8;
    buf[hdr + 3] = len & 0xff;
  }
}

function writeUnknown(w: Writer, x: UnknownAttribute): void {
  const hdr = beginAttribute(w, x.flags & (FLAGS_OT | AttrFlag.Partial), x.typeCode);
  w.bytes(x.value);
  finishAttribute(w, hdr);
}

/**
 * Encode the path attributes of `src` (MP_* first, RFC 7606 §5.1, then by type code; unknown
 * attributes merged in by type code with their received flags).
 */
export function encodeAttributes(src: AttrSource, ctx: CodecContext, w: Writer): void {
  const unknown = src.attrs?.unknown ?? NONE;
  let u = 0;
  for (let i = 0; i < ENCODE_ORDER.length; i++) {
    const d = ENCODE_ORDER[i]!;
    while (u < unknown.length && unknown[u]!.typeCode < d.type && d.type > AttrType.MpUnreachNlri) writeUnknown(w, unknown[u++]!);
    if (!d.present(src)) continue;
    const hdr = beginAttribute(w, d.flags, d.type);
    d.encode(src, ctx, w);
    finishAttribute(w, hdr);
  }
  while (u < unknown.length) writeUnknown(w, unknown[u++]!);
}

/** The attribute block alone (what packer.ts and the RIB's intern key reuse). */
export function encodeAttributeBlock(src: AttrSource, ctx: CodecContext, w: Writer = new Writer(256)): Buffer {
  w.reset();
  encodeAttributes(src, ctx, w);
  return w.take();
}

/**
 * Encode a whole UPDATE frame. Throws EncodeError (never BgpError) if the message would exceed
 * the negotiated maximum; packer.ts splits prefix lists so that it never does.
 */
export function encodeUpdate(msg: UpdateMessage, ctx: CodecContext): Buffer {
  const w = new Writer(MAX_MESSAGE_LEN);
  writeUpdateHeader(w);
  const addPath4 = ctx.addPath.has(Family.Ipv4Unicast);
  const wd = w.reserve(2);
  writeNlri(w, msg.withdrawn, msg.withdrawnPathIds ?? null, addPath4);
  w.patchLength(wd, 2);
  const al = w.reserve(2);
  encodeAttributes(msg, ctx, w);
  w.patchLength(al, 2);
  writeNlri(w, msg.nlri, msg.nlriPathIds ?? null, addPath4);
  const max = maxUpdateLength(ctx);
  if (w.pos > max) throw new EncodeError(EncodeErrorCode.MessageTooLarge, `UPDATE of ${w.pos} octets exceeds ${max}`);
  w.setU16(LENGTH_OFFSET, w.pos);
  return w.take();
}
