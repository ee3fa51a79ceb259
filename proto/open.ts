/**
 * OPEN (RFC 4271 §4.2) with optional parameters (RFC 5492) in the regular or the RFC 9072
 * extended format.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+
 * |    Version    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     My Autonomous System      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Hold Time           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         BGP Identifier                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Opt Parm Len  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Optional Parameters (variable)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * each optional parameter:      RFC 9072 §2 extended format (after the BGP Identifier):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Parm. Type   | Parm. Length  |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  (255)           (255)
 * ~  Parameter Value (variable)   ~ then each parameter is  Type (1) | Length (2) | Value.
 *
 * Only syntax is checked here. Whether the peer AS, hold time or BGP Identifier are acceptable
 * (RFC 4271 §6.2 Bad Peer AS, Unacceptable Hold Time, Bad BGP Identifier) is the FSM's decision.
 */
import type { Buffer } from 'node:buffer';
import { AS_TRANS, BGP_VERSION, HEADER_LEN, MessageType, OptParamType } from './constants.js';
import { Errors } from './errors.js';
import { decodeCapabilities, encodeCapabilities } from './capabilities.js';
import { beginFrame, finishFrame } from './header.js';
import { Reader } from './reader.js';
import type { Capability, OpenMessage, OptionalParameter } from './types.js';
import { Writer } from './writer.js';

/** Octets of the fixed OPEN body before the optional parameters (RFC 4271 §4.2). */
const OPEN_FIXED_LEN = 10;
/** RFC 9072 §2: the marker value of Non-Ext OP Type (and of Non-Ext OP Len when sending). */
const EXTENDED_MARKER = 255;

/**
 * Decode an OPEN frame (header included; its header must have passed checkFrame).
 *
 * Errors, in the order they are checked:
 * - Version other than 4: Unsupported Version Number, Data = 2-octet 4 (RFC 4271 §6.2); checked
 *   first because the rest of a different version's OPEN means nothing to us.
 * - Optional Parameters Length not matching the message, a parameter or capability overrunning
 *   its container: OPEN Message Error / Unspecific (RFC 4271 §6.2, "recognized, but is malformed").
 * - A parameter other than Capabilities (2): Unsupported Optional Parameter (RFC 4271 §6.2; the
 *   only other type ever defined, Authentication (1), was deprecated by RFC 5492 §4).
 */
export function decodeOpen(frame: Buffer): OpenMessage {
  const r = new Reader(frame, HEADER_LEN, frame.length, () => Errors.malformedOpen('OPEN shorter than its fixed fields'));
  const version = r.u8();
  if (version !== BGP_VERSION) throw Errors.unsupportedVersion(version);
  r.need(OPEN_FIXED_LEN - 1);
  const myAs = r.u16();
  const holdTimeSec = r.u16();
  const bgpId = r.u32();
  const nonExtLength = r.u8();

  // RFC 9072 §2: "if the one-octet 'Non-Ext OP Len' field is non-zero, a BGP speaker MUST use the
  // value of the octet following [it] to determine both the encoding of the Optional Parameters
  // length and the size of the 'Parameter Length' field". Every octet is read through the bounds
  // check: CVE-2022-40302 (FRR) read the 2-octet extended length past the end of a short OPEN.
  let extended = false;
  let paramsLength = nonExtLength;
  if (nonExtLength !== 0 && r.remaining > 0 && r.buf[r.pos] === EXTENDED_MARKER) {
    extended = true;
    if (r.remaining < 3) throw Errors.malformedOpen('extended optional parameters length runs past the OPEN');
    r.pos += 1;
    paramsLength = r.u16();
  }
  // The parameters must fill the rest of the message exactly: more is a length lie, less leaves
  // octets nothing accounts for.
  if (paramsLength !== r.remaining) {
    throw Errors.malformedOpen(`optional parameters length ${paramsLength} but ${r.remaining} octets follow`);
  }

  const params: OptionalParameter[] = [];
  const headerLen = extended ? 3 : 2;
  while (!r.done) {
    if (r.remaining < headerLen) throw Errors.malformedOpen('optional parameter header runs past the OPEN');
    const type = r.u8();
    const length = extended ? r.u16() : r.u8();
    if (r.remaining < length) throw Errors.malformedOpen(`optional parameter ${type} length ${length} runs past the OPEN`);
    if (type !== OptParamType.Capabilities) throw Errors.unsupportedOptionalParameter(type);
    params.push({ type: 'capabilities', capabilities: decodeCapabilities(r.sub(length)) });
  }
  return extended
    ? { type: 'open', version, myAs, holdTimeSec, bgpId, params, extendedParams: true }
    : { type: 'open', version, myAs, holdTimeSec, bgpId, params };
}

/**
 * Encode an OPEN. The regular format is used unless `extendedParams` is set or a length does not
 * fit one octet: that is what the RFC 9072 §2 format exists for, and peers that do not know it
 * could not parse an overflowing regular OPEN either. OPEN never exceeds 4096 octets (RFC 8654 §4);
 * exceeding it is a RangeError (our own configuration bug).
 */
export function encodeOpen(msg: OpenMessage): Buffer {
  if (msg.myAs > 0xffff || msg.myAs < 0) throw new RangeError(`OPEN My Autonomous System ${msg.myAs} does not fit 2 octets (use AS_TRANS)`);
  const w = new Writer(256);
  if (msg.extendedParams !== true && writeOpen(w, msg, false)) return w.take();
  w.reset();
  writeOpen(w, msg, true);
  return w.take();
}

/** Returns false when a regular-format length overflowed (the caller retries extended). */
function writeOpen(w: Writer, msg: OpenMessage, extended: boolean): boolean {
  const start = beginFrame(w, MessageType.Open);
  w.u8(msg.version).u16(msg.myAs).u16(msg.holdTimeSec).u32(msg.bgpId);
  const width = extended ? 2 : 1;
  if (extended) w.u8(EXTENDED_MARKER).u8(EXTENDED_MARKER);
  const total = w.reserve(width);
  for (const p of msg.params) {
    w.u8(p.type === 'capabilities' ? OptParamType.Capabilities : p.code);
    const at = w.reserve(width);
    if (p.type === 'capabilities') encodeCapabilities(w, p.capabilities);
    else w.bytes(p.value);
    if (!extended && w.pos - at - 1 > 255) return false;
    w.patchLength(at, width);
  }
  if (!extended && w.pos - total - 1 > 255) return false;
  w.patchLength(total, width);
  finishFrame(w, start, MessageType.Open, false);
  return true;
}

export interface MakeOpenOptions {
  /** Our AS number, 2 or 4 octets. */
  readonly asn: number;
  readonly holdTimeSec: number;
  /** BGP Identifier as u32. */
  readonly bgpId: number;
  readonly capabilities: readonly Capability[];
  /** RFC 9072: force the extended optional parameters format. */
  readonly extendedParams?: boolean;
}

/**
 * An OPEN with every capability in one Capabilities parameter (RFC 5492 §4 allows either; one
 * parameter is what BIRD and GoBGP send). RFC 6793: a speaker whose AS does not fit 2 octets
 * puts AS_TRANS in My Autonomous System; the real AS travels in the 4-octet AS capability, which
 * the caller includes in `capabilities`.
 */
export function makeOpen(options: MakeOpenOptions): OpenMessage {
  const params: OptionalParameter[] =
    options.capabilities.length === 0 ? [] : [{ type: 'capabilities', capabilities: options.capabilities }];
  const base = {
    type: 'open',
    version: BGP_VERSION,
    myAs: options.asn > 0xffff ? AS_TRANS : options.asn,
    holdTimeSec: options.holdTimeSec,
    bgpId: options.bgpId,
    params,
  } as const;
  return options.extendedParams === true ? { ...base, extendedParams: true } : base;
}

/** All capabilities of an OPEN, across its Capabilities parameters, in wire order. */
export function openCapabilities(open: OpenMessage): Capability[] {
  const out: Capability[] = [];
  for (const p of open.params) {
    if (p.type === 'capabilities') for (const c of p.capabilities) out.push(c);
  }
  return out;
}

/** The sender's AS: the 4-octet AS capability's value if present (RFC 6793), else My AS. */
export function openAsn(open: OpenMessage): number {
  for (const p of open.params) {
    if (p.type !== 'capabilities') continue;
    for (const c of p.capabilities) if (c.type === 'four-octet-as') return c.asn;
  }
  return open.myAs;
}
