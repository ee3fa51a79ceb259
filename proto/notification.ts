/**
 * NOTIFICATION (RFC 4271 §4.5), with the Shutdown Communication of RFC 9003 (obsoletes RFC 8203).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Error code    | Error subcode |   Data (variable)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Decoding accepts any code and subcode: a NOTIFICATION is never answered with another one (the
 * connection closes right after it, RFC 4271 §6.4), so an unknown code is shown, not rejected.
 * Code and subcode names live in errors.ts (`describeError`), one table for both directions.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { HEADER_LEN, MessageType } from './constants.js';
import { CeaseSubcode, ErrorCode, Errors } from './errors.js';
import type { BgpError } from './errors.js';
import { maxMessageLength, writeHeaderAt } from './header.js';
import type { CodecContext, NotificationMessage } from './types.js';

/** Octets before the Data field: header, code, subcode. */
const NOTIFICATION_FIXED_LEN = HEADER_LEN + 2;

/** RFC 9003 §2: the Shutdown Communication length is one octet. */
const MAX_SHUTDOWN_COMMUNICATION = 255;

/**
 * Decode a NOTIFICATION frame (header included and checked: at least 21 octets). Data is copied,
 * because the message outlives the socket chunk it arrived in (it is logged and shown).
 */
export function decodeNotification(frame: Buffer): NotificationMessage {
  if (frame.length < NOTIFICATION_FIXED_LEN) throw Errors.badMessageLength(frame.length);
  return {
    type: 'notification',
    code: frame[HEADER_LEN]!,
    subcode: frame[HEADER_LEN + 1]!,
    data: Uint8Array.from(frame.subarray(NOTIFICATION_FIXED_LEN)),
  };
}

/**
 * Encode a NOTIFICATION. RFC 4271 puts no lower bound on what Data must hold, while a NOTIFICATION
 * that cannot be sent helps nobody: Data beyond the negotiated maximum size (4096, or 65535 with
 * RFC 8654) is cut off. That can only happen when Data quotes a whole oversized attribute.
 */
export function encodeNotification(msg: NotificationMessage, ctx: CodecContext): Buffer {
  const max = maxMessageLength(MessageType.Notification, ctx.extendedMessage);
  const dataLen = Math.min(msg.data.length, max - NOTIFICATION_FIXED_LEN);
  const length = NOTIFICATION_FIXED_LEN + dataLen;
  const b = Buffer.allocUnsafe(length);
  writeHeaderAt(b, 0, MessageType.Notification, length);
  b[HEADER_LEN] = msg.code;
  b[HEADER_LEN + 1] = msg.subcode;
  b.set(dataLen === msg.data.length ? msg.data : msg.data.subarray(0, dataLen), NOTIFICATION_FIXED_LEN);
  return b;
}

/** The NOTIFICATION that reports a codec or FSM error to the peer. */
export function errorToNotification(e: BgpError): NotificationMessage {
  return { type: 'notification', code: e.code, subcode: e.subcode, data: e.data };
}

/** A received NOTIFICATION as a BgpError, for the FSM and the logs ("Received: Bad peer AS"). */
export function notificationToError(n: NotificationMessage): BgpError {
  return Errors.received(n.code, n.subcode, n.data);
}

/**
 * RFC 9003 §2: Cease / Administrative Shutdown or Administrative Reset may carry a Shutdown
 * Communication in Data:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Error code 6  |    Subcode    |    Length     |     ...       \
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               /
 * \                                                               \
 * /                 ... Shutdown Communication ...                /
 * \                                                               \
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `text` is UTF-8; beyond 255 octets it is cut at the last whole character that fits, so the
 * peer always receives valid UTF-8. An empty text sends no Data at all (what a speaker without
 * RFC 9003 sends, and equivalent to Length 0).
 */
export function makeShutdownNotification(
  subcode: typeof CeaseSubcode.AdministrativeShutdown | typeof CeaseSubcode.AdministrativeReset,
  text: string,
): NotificationMessage {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_SHUTDOWN_COMMUNICATION) {
    let cut = MAX_SHUTDOWN_COMMUNICATION;
    // Back up over UTF-8 continuation octets (10xxxxxx) so no character is split.
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  if (bytes.length === 0) return { type: 'notification', code: ErrorCode.Cease, subcode, data: new Uint8Array(0) };
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return { type: 'notification', code: ErrorCode.Cease, subcode, data };
}

/**
 * The Shutdown Communication of a Cease / Administrative Shutdown or Reset, or undefined when
 * there is none or it is unusable. RFC 9003 §4: a length beyond the Data or invalid UTF-8 is to be
 * logged, not acted upon — so this never throws; octets after the communication are ignored.
 * The text is peer-controlled: whoever displays it must escape control characters (RFC 9003,
 * Security Considerations).
 */
export function shutdownCommunication(n: NotificationMessage): string | undefined {
  if (n.code !== ErrorCode.Cease) return undefined;
  if (n.subcode !== CeaseSubcode.AdministrativeShutdown && n.subcode !== CeaseSubcode.AdministrativeReset) return undefined;
  const data = n.data;
  if (data.length < 1) return undefined;
  const length = data[0]!;
  if (length === 0 || length > data.length - 1) return undefined;
  const text = Buffer.from(data.buffer, data.byteOffset + 1, length);
  if (!isUtf8(text)) return undefined;
  return text.toString('utf8');
}
