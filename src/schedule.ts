/**
 * How the daemon divides RIB work between event-loop turns. Shared with bench/rib.ts, which
 * replays the same schedule so its event-loop figures are the daemon's.
 */

/**
 * RIB work per drain call, in prefix x established-peer units: deciding a prefix exports it to
 * every peer, so a route reflector with 1000 clients gets 4 prefixes per call, a node with one
 * peer 4096. Calls repeat within one turn until DRAIN_SLICE_MS has passed, then the loop yields
 * (keepalives, reads and the control sockets stay on time under a full table or a big mesh).
 */
export const DRAIN_WORK = 4096;
export const DRAIN_SLICE_MS = 8;

/** Prefixes per drain call with `established` sessions up. */
export function drainBatch(established: number): number {
  return Math.max(1, Math.floor(DRAIN_WORK / Math.max(1, established)));
}

/**
 * Messages a session handles per event-loop turn (src/session/peer.ts default batchSize): libuv
 * reads a readable socket up to 32 times per poll, and the budget is counted across those reads.
 */
export const SESSION_MESSAGES_PER_TURN = 32;
