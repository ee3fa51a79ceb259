/**
 * The UPDATE packer: turns "withdraw these, announce these groups (each one attribute set and
 * its prefixes)" into as few UPDATE messages as the negotiated size allows (4096 octets, or
 * 65535 with RFC 8654 Extended Message). Withdrawals go first (as OpenBGPD's
 * rde_update_queue_runner: "first withdraws ... then updates"), in their own messages.
 *
 * - IPv4 unicast uses the classic Withdrawn Routes and NLRI fields with a NEXT_HOP attribute;
 *   other families (and IPv4 with an IPv6 next hop, RFC 8950) use MP_UNREACH_NLRI / MP_REACH_NLRI,
 *   placed first in the attribute list (RFC 7606 §5.1).
 * - Each group's attribute block (and its MP_REACH_NLRI header) is encoded once, then copied into
 *   every message the group needs. Messages are allocated at their exact size.
 * - A group whose attributes leave no room for even one prefix (GoBGP #2629 panicked on 2k
 *   communities; rustbgpd PR #835 silently under-advertised) is skipped, the rest is still sent,
 *   and packUpdates then throws EncodeError ERR_BGP_ATTRS_TOO_LARGE listing the skipped group
 *   indexes. The caller (Adj-RIB-Out) must treat those prefixes as not advertisable to this peer:
 *   withdraw them if they were advertised before, and log. It must not retry unchanged.
 */
import { Buffer } from 'node:buffer';
import { AttrFlag, AttrType, HEADER_LEN, MARKER_LEN, MessageType, MIN_UPDATE_LEN } from './constants.js';
import { EncodeError, EncodeErrorCode, writeNextHop } from './attributes.js';
import type { MutableAttrs } from './attributes.js';
import { PATH_ID_LEN, writePathId, writePrefix } from './nlri.js';
import type { Prefix } from './prefix.js';
import { Family } from './types.js';
import type { Address, CodecContext, PathAttributes } from './types.js';
import { encodeAttributes, encodeUpdate, maxUpdateLength } from './update.js';
import { Writer } from './writer.js';

/** One attribute set and the prefixes that share it. */
export interface PackGroup {
  readonly attrs: PathAttributes;
  /** Next hop for this group; defaults to attrs.nextHop (IPv4). An IPv6 text address means MP_REACH. */
  readonly nextHop?: Address;
  /** RFC 2545 §3 link-local next hop (IPv6 next hops only). */
  readonly linkLocal?: string;
  readonly prefixes: readonly Prefix[];
  /** RFC 7911 path identifiers, parallel to prefixes (used when ADD-PATH send is on; default 0). */
  readonly pathIds?: readonly number[];
}

export interface PackStats {
  readonly messages: number;
  readonly bytes: number;
}

/** Attribute header with a 2-octet length: flags, type, length. */
const MP_ATTR_HEADER_LEN = 4;
/** AFI (2) + SAFI (1). */
const AFI_SAFI_LEN = 3;
const V4_LEN_SCALE = 64;

/** Octets of one prefix (and its path identifier) on the wire. */
function wireLen(p: Prefix, idLen: number): number {
  const len = typeof p === 'number' ? p % V4_LEN_SCALE : p.charCodeAt(0);
  return 1 + ((len + 7) >> 3) + idLen;
}

function writeFrameStart(buf: Buffer, length: number): void {
  for (let i = 0; i < MARKER_LEN; i++) buf[i] = 0xff;
  buf[MARKER_LEN] = length >>> 8;
  buf[MARKER_LEN + 1] = length & 0xff;
  buf[MARKER_LEN + 2] = MessageType.Update;
}

/** How many prefixes from `from` fit in `room` octets; their size in *bytes. */
function fit(prefixes: readonly Prefix[], from: number, room: number, idLen: number, out: { bytes: number }): number {
  let bytes = 0;
  let j = from;
  const n = prefixes.length;
  while (j < n) {
    const s = wireLen(prefixes[j]!, idLen);
    if (bytes + s > room) break;
    bytes += s;
    j++;
  }
  out.bytes = bytes;
  return j;
}

function writePrefixes(buf: Buffer, pos: number, prefixes: readonly Prefix[], ids: readonly number[] | undefined, from: number, to: number, addPath: boolean): number {
  for (let i = from; i < to; i++) {
    if (addPath) pos = writePathId(buf, pos, ids?.[i] ?? 0);
    pos = writePrefix(buf, pos, prefixes[i]!);
  }
  return pos;
}

/**
 * Pack withdrawals then announcements into UPDATE frames, calling `emit` for each (in order).
 * Throws EncodeError ERR_BGP_ATTRS_TOO_LARGE after everything else was emitted if some groups
 * could not be sent (see the module comment); other EncodeErrors (a value that cannot be encoded)
 * propagate at once.
 */
export function packUpdates(
  family: Family,
  withdrawn: readonly Prefix[],
  groups: readonly PackGroup[],
  ctx: CodecContext,
  emit: (msg: Buffer) => void,
  withdrawnPathIds?: readonly number[],
): PackStats {
  const max = maxUpdateLength(ctx);
  const addPath = ctx.addPath.has(family);
  const idLen = addPath ? PATH_ID_LEN : 0;
  const sized = { bytes: 0 };
  let messages = 0;
  let total = 0;
  const send = (b: Buffer): void => {
    messages++;
    total += b.length;
    emit(b);
  };

  // --- withdrawals --------------------------------------------------------------------------
  if (family === Family.Ipv4Unicast) {
    const room = max - MIN_UPDATE_LEN;
    for (let i = 0; i < withdrawn.length; ) {
      const j = fit(withdrawn, i, room, idLen, sized);
      const buf = Buffer.allocUnsafe(MIN_UPDATE_LEN + sized.bytes);
      writeFrameStart(buf, buf.length);
      buf.writeUInt16BE(sized.bytes, HEADER_LEN);
      const pos = writePrefixes(buf, HEADER_LEN + 2, withdrawn, withdrawnPathIds, i, j, addPath);
      buf.writeUInt16BE(0, pos);
      send(buf);
      i = j;
    }
  } else {
    const overhead = MIN_UPDATE_LEN + MP_ATTR_HEADER_LEN + AFI_SAFI_LEN;
    const room = max - overhead;
    for (let i = 0; i < withdrawn.length; ) {
      const j = fit(withdrawn, i, room, idLen, sized);
      const buf = Buffer.allocUnsafe(overhead + sized.bytes);
      writeFrameStart(buf, buf.length);
      let pos = HEADER_LEN;
      buf.writeUInt16BE(0, pos);
      buf.writeUInt16BE(MP_ATTR_HEADER_LEN + AFI_SAFI_LEN + sized.bytes, pos + 2);
      pos += 4;
      buf[pos++] = AttrFlag.Optional | AttrFlag.ExtendedLength;
      buf[pos++] = AttrType.MpUnreachNlri;
      buf.writeUInt16BE(AFI_SAFI_LEN + sized.bytes, pos);
      buf.writeUInt16BE(family >>> 8, pos + 2);
      buf[pos + 4] = family & 0xff;
      writePrefixes(buf, pos + 5, withdrawn, withdrawnPathIds, i, j, addPath);
      send(buf);
      i = j;
    }
  }

  // --- announcements ------------------------------------------------------------------------
  const w = new Writer(1024);
  const mw = new Writer(64);
  const src: { attrs: PathAttributes } = { attrs: groups[0]?.attrs ?? {} };
  const oversized: number[] = [];
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (group.prefixes.length === 0) continue;
    const nextHop = group.nextHop ?? group.attrs.nextHop;
    const classic = family === Family.Ipv4Unicast && typeof nextHop === 'number';
    // The attribute block, once per group. MP groups carry no NEXT_HOP attribute (RFC 4760 §3:
    // an UPDATE without NLRI-field prefixes "SHOULD NOT carry the NEXT_HOP attribute").
    let attrs = group.attrs;
    if (classic ? attrs.nextHop !== nextHop : attrs.nextHop !== undefined) {
      const a: MutableAttrs = { ...attrs };
      if (classic) a.nextHop = nextHop as number;
      else delete a.nextHop;
      attrs = a;
    }
    let mpHeader: Buffer | null = null;
    w.reset();
    try {
      src.attrs = attrs;
      encodeAttributes(src, ctx, w);
    } catch (e) {
      if (e instanceof EncodeError && e.code === EncodeErrorCode.MessageTooLarge) {
        oversized.push(g);
        continue;
      }
      throw e;
    }
    // A view of the scratch writer: valid until the next group resets it.
    const block = w.view();
    if (!classic) {
      if (nextHop === undefined) throw new EncodeError(EncodeErrorCode.InvalidValue, `group ${g}: no next hop`);
      mw.reset();
      mw.u8(AttrFlag.Optional | AttrFlag.ExtendedLength).u8(AttrType.MpReachNlri).u16(0).u16(family >>> 8).u8(family & 0xff);
      writeNextHop(mw, family, nextHop, group.linkLocal, ctx);
      mw.u8(0); // Reserved (RFC 4760 §3)
      mpHeader = mw.view();
    }
    const mpLen = mpHeader === null ? 0 : mpHeader.length;
    const overhead = MIN_UPDATE_LEN + mpLen + block.length;
    const room = max - overhead;
    const { prefixes, pathIds } = group;
    if (room < wireLen(prefixes[0]!, idLen)) {
      oversized.push(g);
      continue;
    }
    for (let i = 0; i < prefixes.length; ) {
      const j = fit(prefixes, i, room, idLen, sized);
      if (j === i) {
        // Only possible when a later prefix is longer than the first; the group cannot go on.
        oversized.push(g);
        break;
      }
      const len = overhead + sized.bytes;
      const buf = Buffer.allocUnsafe(len);
      writeFrameStart(buf, len);
      let pos = HEADER_LEN;
      buf[pos++] = 0;
      buf[pos++] = 0;
      const attrLen = mpLen + block.length + (mpHeader === null ? 0 : sized.bytes);
      buf[pos++] = attrLen >>> 8;
      buf[pos++] = attrLen & 0xff;
      if (mpHeader !== null) {
        mpHeader.copy(buf, pos);
        const mpValueLen = mpLen - MP_ATTR_HEADER_LEN + sized.bytes;
        buf[pos + 2] = mpValueLen >>> 8;
        buf[pos + 3] = mpValueLen & 0xff;
        pos = writePrefixes(buf, pos + mpLen, prefixes, pathIds, i, j, addPath);
        block.copy(buf, pos);
      } else {
        block.copy(buf, pos);
        writePrefixes(buf, pos + block.length, prefixes, pathIds, i, j, addPath);
      }
      send(buf);
      i = j;
    }
  }
  if (oversized.length > 0) {
    throw new EncodeError(
      EncodeErrorCode.AttrsTooLarge,
      `${oversized.length} attribute set(s) too large for a ${max}-octet UPDATE`,
      oversized,
    );
  }
  return { messages, bytes: total };
}

/** RFC 4724 §2 End-of-RIB: an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH_NLRI. */
export function encodeEndOfRib(family: Family, ctx: CodecContext): Buffer {
  if (family === Family.Ipv4Unicast) return encodeUpdate({ type: 'update', withdrawn: [], attrs: null, nlri: [] }, ctx);
  return encodeUpdate(
    { type: 'update', withdrawn: [], attrs: null, nlri: [], mpUnreach: { afi: family >>> 8, safi: family & 0xff, withdrawn: [] } },
    ctx,
  );
}
