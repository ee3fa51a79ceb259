/**
 * ROUTE-REFRESH (RFC 2918 §3) with the Message Subtype of Enhanced Route Refresh (RFC 7313 §3.2)
 * in what RFC 2918 called the Reserved octet.
 *
 *  0       7      15      23      31
 * +-------+-------+-------+-------+
 * |      AFI      | Subt. | SAFI  |
 * +-------+-------+-------+-------+
 *
 * Subtype: 0 normal request, 1 Beginning of Route Refresh (BoRR), 2 End of Route Refresh (EoRR).
 * Other subtypes decode as is: RFC 7313 §5 says the receiver "MUST ignore" them, which is the
 * session's decision, not a codec error.
 */
import { Buffer } from 'node:buffer';
import { HEADER_LEN, MessageType, ROUTE_REFRESH_LEN } from './constants.js';
import { Errors } from './errors.js';
import { writeHeaderAt } from './header.js';
import type { RouteRefreshMessage } from './types.js';

/**
 * Decode a ROUTE-REFRESH frame (header included). RFC 7313 §5: "If the length, excluding the
 * fixed-size message header, of the received ROUTE-REFRESH message with Message Subtype 1 and 2 is
 * not 4, then the BGP speaker MUST send a NOTIFICATION message with the Error Code of 'ROUTE-REFRESH
 * Message Error' and the subcode of 'Invalid Message Length'. The Data field of the NOTIFICATION
 * message MUST contain the complete ROUTE-REFRESH message."
 *
 * Deviation: applied to every subtype. A longer subtype-0 message would carry ORF entries (RFC
 * 5291), which only a peer that negotiated the ORF capability may send; wren never advertises it.
 */
export function decodeRouteRefresh(frame: Buffer): RouteRefreshMessage {
  if (frame.length !== ROUTE_REFRESH_LEN) throw Errors.routeRefreshLength(frame);
  return {
    type: 'route-refresh',
    afi: (frame[HEADER_LEN]! << 8) | frame[HEADER_LEN + 1]!,
    subtype: frame[HEADER_LEN + 2]!,
    safi: frame[HEADER_LEN + 3]!,
  };
}

export function encodeRouteRefresh(msg: RouteRefreshMessage): Buffer {
  const b = Buffer.allocUnsafe(ROUTE_REFRESH_LEN);
  writeHeaderAt(b, 0, MessageType.RouteRefresh, ROUTE_REFRESH_LEN);
  b[HEADER_LEN] = (msg.afi >>> 8) & 0xff;
  b[HEADER_LEN + 1] = msg.afi & 0xff;
  b[HEADER_LEN + 2] = msg.subtype;
  b[HEADER_LEN + 3] = msg.safi;
  return b;
}
