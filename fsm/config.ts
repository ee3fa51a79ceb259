/**
 * Defaults for a SessionConfig, BIRD's where BIRD has one (proto/bgp/config.Y): hold 240,
 * keepalive 80, connect retry 120, connect delay 5, error wait 60..300, error forget 300.
 * The daemon overrides them from wren's config (Calico's template: connect delay 2, error wait 5,30).
 */
import { localCapabilities } from './open-check.js';
import type { SessionConfig } from './types.js';

export type SessionConfigInput = Partial<SessionConfig> & Pick<SessionConfig, 'localAsn' | 'peerAsn' | 'localBgpId'>;

export function makeSessionConfig(input: SessionConfigInput): SessionConfig {
  const c: SessionConfig = {
    holdTimeSec: 240,
    connectRetrySec: 120,
    connectDelaySec: 5,
    openHoldSec: 240,
    delayOpenSec: 0,
    errorWaitMinSec: 60,
    errorWaitMaxSec: 300,
    errorForgetSec: 300,
    dampPeerOscillations: true,
    autoRestart: true,
    passive: false,
    sendNotificationWithoutOpen: false,
    capabilities: localCapabilities({ asn: input.localAsn }),
    required: {},
    ...input,
  };
  return Object.freeze(c);
}
