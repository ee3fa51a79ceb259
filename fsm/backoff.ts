/**
 * Error-wait back-off for a flapping peer: BIRD's `error wait time MIN,MAX` and `error forget
 * time` (proto/bgp/bgp.c bgp_update_startup_delay), which wren implements as RFC 4271's
 * DampPeerOscillations with the IdleHoldTimer.
 *
 * The first counted error waits MIN; each further error doubles the wait up to MAX; an error
 * that comes `errorForgetSec` or more after the previous one starts again at MIN.
 */
import type { Backoff, SessionConfig } from './types.js';

export const NO_BACKOFF: Backoff = Object.freeze({ delaySec: 0, lastErrorAt: null });

/** Count one error at `now` and return the new back-off (its `delaySec` is the wait to apply). */
export function countError(b: Backoff, config: SessionConfig, now: number): Backoff {
  let delay = b.delaySec;
  // BIRD: "if (p->last_proto_error && current_time() - p->last_proto_error >= error_amnesia_time) startup_delay = 0".
  if (b.lastErrorAt !== null && now - b.lastErrorAt >= config.errorForgetSec * 1000) delay = 0;
  delay = delay === 0 ? config.errorWaitMinSec : Math.min(2 * delay, config.errorWaitMaxSec);
  return { delaySec: delay, lastErrorAt: now };
}
