// Shared fixtures for the FSM tests: a config, the peer's OPEN, and sessions put directly into
// each RFC 4271 state with the timers that state has running.
import { Errors } from '../../proto/errors.js';
import { Family } from '../../proto/types.js';
import type { NotificationMessage, OpenMessage, UpdateOutcome } from '../../proto/types.js';
import { createSession } from '../../fsm/fsm.js';
import { checkOpen, isNegotiated, localCapabilities } from '../../fsm/open-check.js';
import { makeSessionConfig } from '../../fsm/config.js';
import type { SessionConfig, SessionState, State, TimerName } from '../../fsm/types.js';

export const T0 = 1_000_000;
export const LOCAL_ID = 0x0a000001; // 10.0.0.1
export const PEER_ID = 0x0a000002; // 10.0.0.2

export function config(over: Partial<SessionConfig> = {}): SessionConfig {
  return makeSessionConfig({
    localAsn: 65001,
    peerAsn: 65002,
    localBgpId: LOCAL_ID,
    holdTimeSec: 90,
    connectRetrySec: 120,
    connectDelaySec: 0,
    openHoldSec: 240,
    errorWaitMinSec: 5,
    errorWaitMaxSec: 30,
    errorForgetSec: 300,
    autoRestart: false,
    ...over,
  });
}

export function peerOpen(over: Partial<OpenMessage> = {}, asn = 65002): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: asn > 0xffff ? 23456 : asn,
    holdTimeSec: 90,
    bgpId: PEER_ID,
    params: [{ type: 'capabilities', capabilities: localCapabilities({ asn, families: [Family.Ipv4Unicast] }) }],
    ...over,
  };
}

/** The timers each state has running in the fixtures (TIMERS order). */
export const RUNNING: Record<State, readonly TimerName[]> = {
  Idle: [],
  Connect: ['connectRetry'],
  Active: ['connectRetry'],
  OpenSent: ['hold'],
  OpenConfirm: ['hold', 'keepalive'],
  Established: ['hold', 'keepalive'],
};

export function sessionIn(state: State, cfg: SessionConfig = config(), opts: { delayOpen?: boolean } = {}): SessionState {
  const base = createSession(cfg, T0 - 10_000);
  const timer = (s: number) => ({ deadline: T0 + s * 1000, seconds: s });
  const timers = { ...base.timers } as { -readonly [K in TimerName]: SessionState['timers'][K] };
  for (const name of RUNNING[state]) {
    timers[name] = timer(name === 'connectRetry' ? 120 : name === 'hold' ? (state === 'OpenSent' ? 240 : 90) : 30);
  }
  if (opts.delayOpen === true) {
    timers.connectRetry = null;
    timers.delayOpen = timer(5);
  }
  let negotiated = null;
  if (state === 'OpenConfirm' || state === 'Established') {
    const n = checkOpen(peerOpen(), cfg);
    if (!isNegotiated(n)) throw n;
    negotiated = n;
  }
  return { ...base, state, timers, negotiated, connectRetryCounter: 3 };
}

export const notif = (code: number, subcode: number, data: number[] = []): NotificationMessage => ({
  type: 'notification',
  code,
  subcode,
  data: Uint8Array.from(data),
});

export const HEADER_ERR = Errors.badMessageLength(5000);
export const OPEN_ERR = Errors.unsupportedVersion(3);
export const UPDATE_ERR = Errors.malformedAttributeList('test');
export const OUTCOME: UpdateOutcome = {
  message: { type: 'update', withdrawn: [], attrs: null, nlri: [] },
  treatAsWithdraw: false,
  disableFamilies: [],
  discarded: [],
  errors: [],
};
