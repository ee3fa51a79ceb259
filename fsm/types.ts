/**
 * fsm/ — the BGP session state machine of RFC 4271 §8, as a pure function.
 *
 * Owns: the per-connection FSM (`step`), OPEN validation and capability negotiation
 * (`checkOpen`), connection collision resolution (RFC 4271 §6.8), the error-wait back-off, and
 * the status record the rest of wren reads. It imports only proto/ (types, errors, constants).
 * It never touches sockets, timers or a logger: time comes in as `now` (milliseconds), timers and
 * I/O go out as `Action` values the driver in src/session applies in order.
 *
 * Deviations from RFC 4271 §8.2.2, each for BIRD compatibility (wren replaces BIRD under Calico):
 * - Connect delay (BIRD `connect delay time`): with `connectDelaySec > 0` the start events go to
 *   Active with the ConnectRetryTimer set to the delay, instead of connecting at once; the RFC's
 *   Active + ConnectRetryTimer_Expires transition then makes the connection.
 * - Connect + TcpConnectionFails without DelayOpen goes to Active (RFC: Idle), so the status reads
 *   BIRD's `Active  Socket: Connection refused` and the retry uses the connect delay.
 * - A passive session (Events 4/5) never initiates a connection: ConnectRetryTimer_Expires in
 *   Active only restarts the timer.
 * - Peer oscillation damping (IdleHoldTimer) follows BIRD's `error wait time` / `error forget
 *   time`: only a NOTIFICATION other than Cease, sent or received, lengthens the wait.
 * - After an automatic stop into Idle the FSM itself arms the IdleHoldTimer (0 s when no damping
 *   applies) and turns its expiry into AutomaticStart (RFC 4271 §8.1.1 AllowAutomaticStart).
 * - Unexpected messages get RFC 6608 FSM error subcodes with the message type as Data.
 * - Events 6, 7 (damped starts) are subsumed by IdleHoldTimer_Expires; Event 14 (TcpConnection_
 *   Valid) is the driver's accept check, and Tcp_CR_Invalid is what it reports for a failed one.
 */
import type { BgpError } from '../proto/errors.js';
import type {
  Capability,
  CodecContext,
  Family,
  Message,
  NotificationMessage,
  OpenMessage,
  RouteRefreshMessage,
  UpdateOutcome,
} from '../proto/types.js';

/** RFC 4271 §8.2.2 states. */
export const STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type State = (typeof STATES)[number];

/** RFC 4271 §8.1.3 (ConnectRetry, Hold, Keepalive), §8.1.1 optional (DelayOpen, IdleHold). */
export const TIMERS = ['connectRetry', 'hold', 'keepalive', 'delayOpen', 'idleHold'] as const;
export type TimerName = (typeof TIMERS)[number];

/** A running timer: when it fires (ms, same clock as `now`) and the value it was started with. */
export interface RunningTimer {
  readonly deadline: number;
  readonly seconds: number;
}
export type Timers = { readonly [K in TimerName]: RunningTimer | null };

/** Capabilities the local configuration insists on (RFC 5492 §5: refuse the session without them). */
export interface RequiredCapabilities {
  readonly fourOctetAs?: boolean;
  readonly families?: readonly Family[];
  readonly routeRefresh?: boolean;
  readonly enhancedRouteRefresh?: boolean;
  readonly extendedMessage?: boolean;
  readonly gracefulRestart?: boolean;
}

/** Everything the FSM needs to know about one configured peering. Built once; never mutated. */
export interface SessionConfig {
  readonly localAsn: number;
  /** The AS the peer must have (RFC 4271 §6.2 "Bad Peer AS"). */
  readonly peerAsn: number;
  /** Our BGP Identifier as an unsigned 32-bit number. */
  readonly localBgpId: number;
  /** Hold Time we propose in our OPEN (0 = no keepalives, RFC 4271 §4.2). */
  readonly holdTimeSec: number;
  /** Upper bound on the negotiated keepalive interval (BIRD `keepalive time`); absent = hold/3. */
  readonly keepaliveSec?: number;
  /** ConnectRetryTime: how long one outgoing connection attempt may take. */
  readonly connectRetrySec: number;
  /** BIRD `connect delay time`: wait this long in Active before connecting (0 = RFC behaviour). */
  readonly connectDelaySec: number;
  /** The HoldTimer "large value" while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  readonly openHoldSec: number;
  /** DelayOpenTime (RFC 4271 §8.1.1); 0 = the DelayOpen attribute is FALSE. */
  readonly delayOpenSec: number;
  /** BIRD `error wait time MIN,MAX`. */
  readonly errorWaitMinSec: number;
  readonly errorWaitMaxSec: number;
  /** BIRD `error forget time`: an error this long after the previous one restarts at MIN. */
  readonly errorForgetSec: number;
  /** DampPeerOscillations (RFC 4271 §8.1.1). */
  readonly dampPeerOscillations: boolean;
  /** AllowAutomaticStart: restart on our own after a session failure. */
  readonly autoRestart: boolean;
  /** PassiveTcpEstablishment for automatic restarts (manual starts choose with the event). */
  readonly passive: boolean;
  /** SendNOTIFICATIONwithoutOPEN (RFC 4271 §8.1.1). */
  readonly sendNotificationWithoutOpen: boolean;
  /** What we advertise in our OPEN (RFC 5492). */
  readonly capabilities: readonly Capability[];
  readonly required: RequiredCapabilities;
}

/** The peer's graceful-restart capability as negotiated (RFC 4724 §3). */
export interface PeerGracefulRestart {
  readonly restartTimeSec: number;
  /** R bit: the peer has restarted and wants us to hold its routes. */
  readonly restarting: boolean;
  /** N bit (RFC 8538). */
  readonly notification: boolean;
  /** Negotiated families the peer preserves state for, with their F bits. */
  readonly families: readonly { readonly family: Family; readonly forwardingPreserved: boolean }[];
}

/** The result of a successful OPEN exchange (what `established` carries). */
export interface Negotiated {
  /** The peer's real AS (from the 4-octet AS capability when present, RFC 6793 §4.1). */
  readonly peerAsn: number;
  readonly peerBgpId: number;
  /** RFC 4271 §8.2.2: same AS = internal connection. */
  readonly internal: boolean;
  /** RFC 4271 §4.2: the smaller of both Hold Times (0 = no keepalives, no hold timer). */
  readonly holdTimeSec: number;
  readonly keepaliveSec: number;
  readonly peerHoldTimeSec: number;
  readonly fourOctetAs: boolean;
  /** RFC 4760 §8: the families both sides advertised (IPv4 unicast implied without MP). */
  readonly families: readonly Family[];
  /** RFC 7911 §4: families where we send path identifiers / where they send them to us. */
  readonly addPathSend: readonly Family[];
  readonly addPathReceive: readonly Family[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly extendedMessage: boolean;
  /** RFC 8950: NLRI families both sides agreed to carry with an IPv6 next hop. */
  readonly extendedNextHop: readonly Family[];
  /** The peer's graceful-restart capability, or null when it did not send one. */
  readonly gracefulRestart: PeerGracefulRestart | null;
  /** We advertised graceful restart (so we are at least restart-aware towards this peer). */
  readonly localGracefulRestart: boolean;
  readonly peerCapabilities: readonly Capability[];
  /** Codec contexts per direction (RFC 7911 makes ADD-PATH directional). */
  readonly rx: CodecContext;
  readonly tx: CodecContext;
}

/**
 * Why a session is not (or no longer) up, as a value. `formatDownReason` gives BIRD's wording
 * (proto/bgp/bgp.c bgp_get_status: errclass + message).
 */
export type DownReason =
  /** BE_SOCKET: `Socket: Connection refused`, `Socket: Connection closed`. */
  | { readonly type: 'socket'; readonly message: string }
  /** BE_BGP_TX: we sent a NOTIFICATION. `BGP Error: Hold timer expired`. */
  | { readonly type: 'sent'; readonly code: number; readonly subcode: number; readonly communication?: string }
  /** BE_BGP_RX: we received one. `Received: Bad peer AS`. */
  | { readonly type: 'received'; readonly code: number; readonly subcode: number; readonly communication?: string }
  /** BE_MISC: `Error: Neighbor lost`. */
  | { readonly type: 'error'; readonly message: string }
  /** BE_AUTO_DOWN: `Automatic shutdown: Route limit exceeded`. */
  | { readonly type: 'automatic'; readonly message: string }
  /** BE_MAN_DOWN: shown as nothing. */
  | { readonly type: 'manual' };

/** RFC 4271 §8.1.2–8.1.5 events, named as in the RFC. Numbers in comments. */
export type Event =
  | { readonly type: 'ManualStart' } // 1
  /** 2. The Cease subcode defaults to Administrative Shutdown (RFC 4486 §4); RFC 9003 text optional. */
  | { readonly type: 'ManualStop'; readonly subcode?: number; readonly communication?: string }
  | { readonly type: 'AutomaticStart' } // 3
  | { readonly type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { readonly type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  /** 8. E.g. maximum prefixes reached (Cease subcode 1), RFC 4271 §8.1.2. */
  | { readonly type: 'AutomaticStop'; readonly subcode?: number; readonly communication?: string; /** RFC 4486 §4: e.g. AFI, SAFI, prefix limit for subcode 1. */ readonly data?: Uint8Array }
  | { readonly type: 'ConnectRetryTimer_Expires' } // 9
  | { readonly type: 'HoldTimer_Expires' } // 10
  | { readonly type: 'KeepaliveTimer_Expires' } // 11
  | { readonly type: 'DelayOpenTimer_Expires' } // 12
  | { readonly type: 'IdleHoldTimer_Expires' } // 13
  | { readonly type: 'Tcp_CR_Invalid' } // 15
  | { readonly type: 'Tcp_CR_Acked' } // 16: our outgoing connection completed
  | { readonly type: 'TcpConnectionConfirmed' } // 17: an incoming connection was accepted
  /**
   * 18. `error` is the errno text BIRD shows after `Socket: ` (default `Connection closed`);
   * `reason` overrides it when the driver closed the connection on purpose (e.g. RFC 4724 §4.2).
   */
  | { readonly type: 'TcpConnectionFails'; readonly error?: string; readonly reason?: DownReason }
  | { readonly type: 'BGPOpen'; readonly open: OpenMessage } // 19
  | { readonly type: 'BGPOpen_with_DelayOpenTimer_running'; readonly open: OpenMessage } // 20
  | { readonly type: 'BGPHeaderErr'; readonly error: BgpError } // 21
  | { readonly type: 'BGPOpenMsgErr'; readonly error: BgpError } // 22
  | { readonly type: 'OpenCollisionDump' } // 23
  | { readonly type: 'NotifMsgVerErr'; readonly notification: NotificationMessage } // 24
  | { readonly type: 'NotifMsg'; readonly notification: NotificationMessage } // 25
  | { readonly type: 'KeepAliveMsg' } // 26
  /** 27. The decoded UPDATE (RFC 7606 outcome); handed on to the RIB in Established. */
  | { readonly type: 'UpdateMsg'; readonly outcome?: UpdateOutcome }
  | { readonly type: 'UpdateMsgErr'; readonly error: BgpError } // 28
  /** Not an RFC 4271 event: RFC 2918 ROUTE-REFRESH, valid only in Established. */
  | { readonly type: 'RouteRefreshMsg'; readonly message: RouteRefreshMessage };

export type EventType = Event['type'];

/** What the driver must do, in order. */
export type Action =
  /** Initiate an outgoing TCP connection (RFC 4271 "initiates a TCP connection"). */
  | { readonly type: 'connect' }
  | { readonly type: 'send'; readonly message: Message }
  | { readonly type: 'setTimer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly type: 'stopTimer'; readonly timer: TimerName }
  /** Drop the TCP connection (and abort a connection attempt in progress). */
  | { readonly type: 'close' }
  /** Refuse the incoming connection that caused Tcp_CR_Invalid. */
  | { readonly type: 'reject' }
  /** OpenConfirm -> Established. */
  | { readonly type: 'established'; readonly negotiated: Negotiated }
  /** Established -> Idle: "deletes all routes associated with this connection" (or keeps them stale, RFC 4724). */
  | { readonly type: 'down'; readonly reason: DownReason }
  /** An UPDATE for the RIB (RFC 4271 §9), in Established only. */
  | { readonly type: 'update'; readonly outcome: UpdateOutcome }
  | { readonly type: 'routeRefresh'; readonly message: RouteRefreshMessage };

export type ActionType = Action['type'];

/** Error-wait back-off (BIRD bgp_update_startup_delay). */
export interface Backoff {
  /** The current wait; 0 = no error remembered. */
  readonly delaySec: number;
  /** When the last counted error happened (ms), or null. */
  readonly lastErrorAt: number | null;
}

/** The complete state of one connection's FSM. Immutable: `step` returns a new one. */
export interface SessionState {
  readonly config: SessionConfig;
  readonly state: State;
  /** When `state` last changed (ms). */
  readonly since: number;
  readonly connectRetryCounter: number;
  readonly timers: Timers;
  /** Set by the *_with_PassiveTcpEstablishment start events. */
  readonly passive: boolean;
  /** Set between BGPOpen and leaving Established/OpenConfirm. */
  readonly negotiated: Negotiated | null;
  /** The last error (kept after the state changes, as BIRD shows it). */
  readonly lastError: DownReason | null;
  readonly backoff: Backoff;
}

export interface Transition {
  readonly state: SessionState;
  readonly actions: readonly Action[];
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
