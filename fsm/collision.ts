/**
 * Connection collision detection (RFC 4271 §6.8, RFC 6286 §2.3), decided the way BIRD does it
 * (proto/bgp/packets.c bgp_rx_open), for a driver that holds up to two connections per peer.
 *
 * The decision is taken when a *valid* OPEN arrives on one connection (`this`), looking at the
 * state of the other one.
 */
import type { SessionState } from './types.js';

/** Who opened the TCP connection: we did (outgoing) or the peer did (incoming). */
export type Direction = 'outgoing' | 'incoming';

export type CollisionDecision =
  /** No collision to resolve: the other connection is Idle or still waiting for its OPEN. */
  | { readonly type: 'none' }
  /** The other connection is only an attempt (Connect/Active): abandon it quietly. */
  | { readonly type: 'stopOther' }
  /** Dump the other connection (OpenCollisionDump there: Cease / Connection Collision Resolution). */
  | { readonly type: 'dumpOther' }
  /** Dump this connection. */
  | { readonly type: 'dumpThis' }
  /**
   * RFC 4724 §4.2: the peer restarted while our session still looks Established; close the old
   * connection (its routes go stale, not away) and carry on with the new one.
   */
  | { readonly type: 'replaceEstablished' };

/**
 * RFC 4271 §6.8: "the connection initiated by the BGP speaker with the larger BGP Identifier is
 * preserved" — identifiers compared as unsigned 32-bit integers (RFC 6286 §2.3 made explicit). With
 * equal identifiers (possible on eBGP, RFC 6286 §2.3) the larger AS number wins.
 * Returns the direction of the connection that survives, seen from us.
 */
export function collisionSurvivor(localBgpId: number, localAsn: number, remoteBgpId: number, remoteAsn: number): Direction {
  const l = localBgpId >>> 0;
  const r = remoteBgpId >>> 0;
  if (l !== r) return l > r ? 'outgoing' : 'incoming';
  return localAsn > remoteAsn ? 'outgoing' : 'incoming';
}

/**
 * A valid OPEN carrying `remoteBgpId` arrived on the connection of direction `thisDirection`;
 * `other` is the FSM of the peer's other connection (or null when there is none).
 */
export function detectCollision(
  other: SessionState | null,
  thisDirection: Direction,
  localBgpId: number,
  localAsn: number,
  remoteBgpId: number,
  remoteAsn: number,
  /** The new OPEN carries the Graceful Restart capability. */
  newOpenGracefulRestart = false,
  /** Who opened the other connection; unknown = treat as the same direction as this one. */
  otherDirection: Direction = thisDirection,
): CollisionDecision {
  if (other === null) return { type: 'none' };
  switch (other.state) {
    case 'Idle':
    case 'OpenSent':
      // The other connection has not seen an OPEN yet; it decides when its own arrives (BIRD).
      return { type: 'none' };
    case 'Connect':
    case 'Active':
      return { type: 'stopOther' };
    case 'OpenConfirm':
      return collisionSurvivor(localBgpId, localAsn, remoteBgpId, remoteAsn) === thisDirection
        ? { type: 'dumpOther' }
        : { type: 'dumpThis' };
    case 'Established':
      // RFC 4724 §4.2: "If the Receiving Speaker receives a new OPEN ... while the old session is
      // Established" it closes the old one — only if graceful restart was negotiated on it, and
      // only when both connections came from the same side (BIRD bgp_incoming_connection: a
      // second *incoming* connection). A restarted peer connects to us again; an OPEN on a
      // connection of the other direction is the late half of a collision whose other half won
      // the race to Established, and §6.8 keeps the Established one.
      if (
        newOpenGracefulRestart &&
        otherDirection === thisDirection &&
        other.negotiated?.gracefulRestart != null &&
        other.negotiated.localGracefulRestart
      ) {
        return { type: 'replaceEstablished' };
      }
      // §6.8: "a connection collision with an existing BGP connection that is in the Established
      // state causes closing of the newly created connection" (CollisionDetectEstablishedState off).
      return { type: 'dumpThis' };
  }
}
