/**
 * The BGP message header (RFC 4271 §4.1) and its checks (RFC 4271 §6.1, RFC 8654 §4).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                                                               +
 * |                                                               |
 * +                                                               +
 * |                           Marker                              |
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Length               |      Type     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Everything here is decided by the 19 header octets alone, so the Framer can reject a message
 * before its body has arrived (never buffer 65535 octets for a peer that lied about the length).
 */
import { Buffer } from 'node:buffer';
import {
  HEADER_LEN,
  KEEPALIVE_LEN,
  MARKER_LEN,
  MAX_EXTENDED_MESSAGE_LEN,
  MAX_MESSAGE_LEN,
  MIN_NOTIFICATION_LEN,
  MIN_OPEN_LEN,
  MIN_UPDATE_LEN,
  MessageType,
} from './constants.js';
import { Errors } from './errors.js';
import type { Writer } from './writer.js';

/**
 * The largest Length a message of `type` may carry. RFC 8654 §4: "The BGP Extended Message
 * Capability applies to all messages except for OPEN and KEEPALIVE messages", so those two stay
 * at 4096 even when extended messages were negotiated.
 */
export function maxMessageLength(type: number, extendedMessage: boolean): number {
  if (!extendedMessage || type === MessageType.Open || type === MessageType.Keepalive) return MAX_MESSAGE_LEN;
  return MAX_EXTENDED_MESSAGE_LEN;
}

/**
 * Validate the header at `buf[pos..pos+19)` and return its Length field. The caller guarantees
 * 19 octets are present. Throws the RFC 4271 §6.1 error:
 * - marker not all ones: Connection Not Synchronized;
 * - Length below 19, above the negotiated maximum, below the per-type minimum (§4.2 OPEN 29,
 *   §4.3 UPDATE 23, §4.5 NOTIFICATION 21) or a KEEPALIVE not exactly 19: Bad Message Length with
 *   the Length field as Data;
 * - a Type we do not know: Bad Message Type with the Type field as Data.
 *
 * ROUTE-REFRESH gets no length check here on purpose: RFC 7313 §5 wants its own error (ROUTE-REFRESH
 * Message Error / Invalid Message Length) with the *complete* message as Data, so the body must be
 * read first (see route-refresh.ts).
 */
export function checkHeader(buf: Buffer, pos: number, extendedMessage: boolean): number {
  // §6.1 "If the Marker field of the message header is not as expected"; a loop on the numbers is
  // faster than comparing against a constant Buffer for 16 octets.
  for (let i = pos, end = pos + MARKER_LEN; i < end; i++) {
    if (buf[i] !== 0xff) throw Errors.connectionNotSynchronized();
  }
  const length = (buf[pos + 16]! << 8) | buf[pos + 17]!;
  const type = buf[pos + 18]!;
  // §6.1: "if the Length field of the message header is less than 19 or greater than 4096".
  if (length < HEADER_LEN || length > (extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN)) {
    throw Errors.badMessageLength(length);
  }
  switch (type) {
    case MessageType.Open:
      // RFC 8654 §4: OPEN is never extended.
      if (length < MIN_OPEN_LEN || length > MAX_MESSAGE_LEN) throw Errors.badMessageLength(length);
      break;
    case MessageType.Update:
      if (length < MIN_UPDATE_LEN) throw Errors.badMessageLength(length);
      break;
    case MessageType.Notification:
      if (length < MIN_NOTIFICATION_LEN) throw Errors.badMessageLength(length);
      break;
    case MessageType.Keepalive:
      // §6.1: "if the Length field of a KEEPALIVE message is not equal to 19".
      if (length !== KEEPALIVE_LEN) throw Errors.badMessageLength(length);
      break;
    case MessageType.RouteRefresh:
      break;
    default:
      // §6.1: "If the Type field of the message header is not recognized".
      throw Errors.badMessageType(type);
  }
  return length;
}

/**
 * Validate a whole frame handed to a decoder: the header checks above, plus the Length field must
 * match the frame exactly (a frame from the Framer always does; anything else is a caller passing
 * a partial buffer, reported the same way a peer's lie would be). Returns the message type.
 */
export function checkFrame(frame: Buffer, extendedMessage: boolean): number {
  if (frame.length < HEADER_LEN) throw Errors.badMessageLength(frame.length, `frame of ${frame.length} octets has no complete header`);
  const length = checkHeader(frame, 0, extendedMessage);
  if (length !== frame.length) throw Errors.badMessageLength(length, `length field ${length} but frame of ${frame.length} octets`);
  return frame[18]!;
}

/** Write a header with a placeholder length; returns the frame start for finishFrame. */
export function beginFrame(w: Writer, type: number): number {
  const start = w.pos;
  w.fill(0xff, MARKER_LEN);
  w.u16(0);
  w.u8(type);
  return start;
}

/**
 * Back-patch the Length of the frame begun at `start` and enforce the size limit. Exceeding it is
 * our own bug (packers must split first), so it throws a RangeError, not a BgpError.
 */
export function finishFrame(w: Writer, start: number, type: number, extendedMessage: boolean): void {
  const length = w.pos - start;
  const max = maxMessageLength(type, extendedMessage);
  if (length > max) throw new RangeError(`BGP message type ${type} of ${length} octets exceeds the ${max}-octet limit`);
  w.setU16(start + MARKER_LEN, length);
}

/** A standalone 19-octet header for a message of `length` octets (body written separately). */
export function encodeHeader(type: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_LEN);
  writeHeaderAt(b, 0, type, length);
  return b;
}

/** Write a header into `buf` at `pos` (used by encoders that size their buffer exactly). */
export function writeHeaderAt(buf: Buffer, pos: number, type: number, length: number): void {
  buf.fill(0xff, pos, pos + MARKER_LEN);
  buf[pos + 16] = (length >>> 8) & 0xff;
  buf[pos + 17] = length & 0xff;
  buf[pos + 18] = type;
}
