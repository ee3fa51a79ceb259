/**
 * Top-level message dispatch: one frame (header included) to one typed Message, and back.
 *
 * Contract of decodeMessage: it reads nothing outside `frame`, and the only thing it throws is a
 * BgpError carrying the NOTIFICATION to send. Any other exception escaping from here is a bug in
 * the codec and is deliberately not wrapped, so it surfaces with its own stack.
 */
import { Buffer } from 'node:buffer';
import { HEADER_LEN, KEEPALIVE_LEN, MessageType } from './constants.js';
import { checkFrame, writeHeaderAt } from './header.js';
import { decodeNotification, encodeNotification } from './notification.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeRouteRefresh, encodeRouteRefresh } from './route-refresh.js';
import type { CodecContext, KeepaliveMessage, Message } from './types.js';
import { decodeUpdate, encodeUpdate } from './update.js';

/**
 * KEEPALIVE (RFC 4271 §4.4): "a KEEPALIVE message consists of only the message header and has a
 * length of 19 octets". Pre-encoded once; treat as read-only.
 */
export const KEEPALIVE: Buffer = (() => {
  const b = Buffer.allocUnsafe(KEEPALIVE_LEN);
  writeHeaderAt(b, 0, MessageType.Keepalive, KEEPALIVE_LEN);
  return b;
})();

const KEEPALIVE_MESSAGE: KeepaliveMessage = Object.freeze({ type: 'keepalive' });

/** The Type octet of a frame (RFC 4271 §4.1), without validating anything; -1 if there is none. */
export function peekType(frame: Buffer): number {
  return frame.length > HEADER_LEN - 1 ? frame[HEADER_LEN - 1]! : -1;
}

/**
 * Decode one whole message. The header is checked again (marker, length bounds for `ctx`, per-type
 * minimum, Length equal to the frame) so that this is safe on any buffer, not only on Framer output.
 * For UPDATE the RFC 7606 outcome is dropped; callers that need it call decodeUpdate directly.
 */
export function decodeMessage(frame: Buffer, ctx: CodecContext): Message {
  const type = checkFrame(frame, ctx.extendedMessage);
  switch (type) {
    case MessageType.Open:
      return decodeOpen(frame);
    case MessageType.Update:
      return decodeUpdate(frame, ctx).message;
    case MessageType.Notification:
      return decodeNotification(frame);
    case MessageType.Keepalive:
      return KEEPALIVE_MESSAGE;
    case MessageType.RouteRefresh:
      return decodeRouteRefresh(frame);
    default:
      // checkFrame has rejected every other type; reaching here means the two switches disagree.
      throw new Error(`decodeMessage: unhandled message type ${type} passed checkFrame`);
  }
}

/** Encode one message as a whole frame. */
export function encodeMessage(msg: Message, ctx: CodecContext): Buffer {
  switch (msg.type) {
    case 'open':
      return encodeOpen(msg);
    case 'update':
      return encodeUpdate(msg, ctx);
    case 'notification':
      return encodeNotification(msg, ctx);
    case 'keepalive':
      return KEEPALIVE;
    case 'route-refresh':
      return encodeRouteRefresh(msg);
    default:
      return assertNever(msg);
  }
}

function assertNever(x: never): never {
  throw new TypeError(`encodeMessage: unhandled message ${JSON.stringify(x)}`);
}
