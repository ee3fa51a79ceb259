/**
 * RFC 4271 §8.2.2 as one pure function: step(session, event, now) -> { state, actions }.
 *
 * One switch per state, one entry function for Idle (OpenBGPD change_state), actions as data.
 * Idle entry always: sends the NOTIFICATION if any, stops every running timer (in TIMERS order),
 * drops the connection, reports `down` when leaving Established, and — for an automatic stop —
 * arms the IdleHoldTimer (error-wait back-off) that becomes AutomaticStart.
 */
import { CeaseSubcode, ErrorCode, Errors, FsmSubcode, describeError } from '../proto/errors.js';
import type { BgpError } from '../proto/errors.js';
import { MessageType } from '../proto/constants.js';
import type { Message, NotificationMessage, OpenMessage } from '../proto/types.js';
import { countError, NO_BACKOFF } from './backoff.js';
import { errorToNotification, makeShutdownNotification, shutdownCommunication } from '../proto/notification.js';
import { checkOpen, isNegotiated, localOpen } from './open-check.js';
import { TIMERS, assertNever } from './types.js';
import type { Action, DownReason, Event, SessionConfig, SessionState, State, TimerName, Timers, Transition } from './types.js';

const NO_TIMERS: Timers = Object.freeze({ connectRetry: null, hold: null, keepalive: null, delayOpen: null, idleHold: null });

export const KEEPALIVE_MESSAGE: { readonly type: 'keepalive' } = Object.freeze({ type: 'keepalive' });

/** A new FSM in Idle (RFC 4271 §8.2.2 "Initially, the BGP peer FSM is in the Idle state"). */
export function createSession(config: SessionConfig, now: number): SessionState {
  return {
    config,
    state: 'Idle',
    since: now,
    connectRetryCounter: 0,
    timers: NO_TIMERS,
    passive: false,
    negotiated: null,
    lastError: null,
    backoff: NO_BACKOFF,
  };
}

/** The event for a received OPEN: Event 20 while the DelayOpenTimer runs, else Event 19. */
export function openEvent(s: SessionState, open: OpenMessage): Event {
  return s.timers.delayOpen !== null ? { type: 'BGPOpen_with_DelayOpenTimer_running', open } : { type: 'BGPOpen', open };
}

// --- NOTIFICATION builders (RFC 4271 §4.5, RFC 4486, RFC 9003) --------------------------------

/** A Cease NOTIFICATION; a communication is only defined for subcodes 2 and 4 (RFC 9003 §2). */
export function ceaseNotification(subcode: number, communication?: string, data?: Uint8Array): NotificationMessage {
  if (data !== undefined) return { type: 'notification', code: ErrorCode.Cease, subcode, data };
  if (communication !== undefined && (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset)) {
    return makeShutdownNotification(subcode, communication);
  }
  return { type: 'notification', code: ErrorCode.Cease, subcode, data: new Uint8Array(0) };
}

export const errorNotification = errorToNotification;

/** RFC 6608 §4: Data is the 1-octet type of the unexpected message. */
function fsmError(state: State, messageType: number | null): NotificationMessage {
  let subcode: number = FsmSubcode.Unspecified;
  if (messageType !== null) {
    if (state === 'OpenSent') subcode = FsmSubcode.UnexpectedMessageInOpenSent;
    else if (state === 'OpenConfirm') subcode = FsmSubcode.UnexpectedMessageInOpenConfirm;
    else if (state === 'Established') subcode = FsmSubcode.UnexpectedMessageInEstablished;
  }
  const data = subcode === FsmSubcode.Unspecified || messageType === null ? new Uint8Array(0) : Uint8Array.of(messageType);
  return { type: 'notification', code: ErrorCode.FiniteStateMachine, subcode, data };
}

/** The wire type of the message behind an event, for RFC 6608 Data; null for non-message events. */
function messageTypeOf(e: Event): number | null {
  switch (e.type) {
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPOpenMsgErr':
      return MessageType.Open;
    case 'KeepAliveMsg':
      return MessageType.Keepalive;
    case 'UpdateMsg':
    case 'UpdateMsgErr':
      return MessageType.Update;
    case 'RouteRefreshMsg':
      return MessageType.RouteRefresh;
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return MessageType.Notification;
    default:
      return null;
  }
}

/** BIRD's BE_AUTO_DOWN: `Automatic shutdown: Maximum number of prefixes reached`. */
function automaticReason(e: { readonly subcode?: number }): DownReason {
  return { type: 'automatic', message: describeError(ErrorCode.Cease, e.subcode ?? 0) };
}

function tcpFailReason(e: Extract<Event, { type: 'TcpConnectionFails' }>): DownReason {
  return e.reason ?? { type: 'socket', message: e.error ?? 'Connection closed' };
}

function sentReason(n: NotificationMessage): DownReason {
  return { type: 'sent', code: n.code, subcode: n.subcode };
}

function receivedReason(n: NotificationMessage): DownReason {
  const text = shutdownCommunication(n);
  return text === undefined ? { type: 'received', code: n.code, subcode: n.subcode } : { type: 'received', code: n.code, subcode: n.subcode, communication: text };
}

// --- the mutable draft a transition works on -----------------------------------------------

interface Draft {
  state: State;
  since: number;
  connectRetryCounter: number;
  timers: { -readonly [K in TimerName]: Timers[K] };
  passive: boolean;
  negotiated: SessionState['negotiated'];
  lastError: DownReason | null;
  backoff: SessionState['backoff'];
}

class Tx {
  readonly d: Draft;
  readonly actions: Action[] = [];
  constructor(
    readonly s: SessionState,
    readonly now: number,
  ) {
    this.d = {
      state: s.state,
      since: s.since,
      connectRetryCounter: s.connectRetryCounter,
      timers: { ...s.timers },
      passive: s.passive,
      negotiated: s.negotiated,
      lastError: s.lastError,
      backoff: s.backoff,
    };
  }
  get config(): SessionConfig {
    return this.s.config;
  }
  set(timer: TimerName, seconds: number): void {
    this.d.timers[timer] = { deadline: this.now + seconds * 1000, seconds };
    this.actions.push({ type: 'setTimer', timer, seconds });
  }
  /** "stops the X timer (if running) and sets it to zero". */
  stop(timer: TimerName): void {
    if (this.d.timers[timer] === null) return;
    this.d.timers[timer] = null;
    this.actions.push({ type: 'stopTimer', timer });
  }
  send(message: Message): void {
    this.actions.push({ type: 'send', message });
  }
  push(a: Action): void {
    this.actions.push(a);
  }
  go(state: State): void {
    if (state !== this.d.state) this.d.since = this.now;
    this.d.state = state;
  }
  done(): Transition {
    return { state: { config: this.s.config, ...this.d }, actions: this.actions };
  }
}

// --- shared transitions -----------------------------------------------------------------------

interface IdleEntry {
  readonly notify?: NotificationMessage;
  readonly counter: 'zero' | 'increment' | 'keep';
  /** What lastError becomes; undefined keeps the previous one. */
  readonly reason?: DownReason;
  /** A restart comes automatically (false only for ManualStop). */
  readonly restart: boolean;
}

/** Enter Idle (RFC 4271: "releases all BGP resources, drops the TCP connection"). */
function toIdle(t: Tx, e: IdleEntry): Transition {
  const from = t.d.state;
  if (e.notify !== undefined) t.send(e.notify);
  for (const timer of TIMERS) t.stop(timer);
  if (from !== 'Idle') t.push({ type: 'close' });
  if (e.reason !== undefined) t.d.lastError = e.reason;
  if (from === 'Established') t.push({ type: 'down', reason: e.reason ?? t.d.lastError ?? { type: 'error', message: 'Session closed' } });
  t.d.negotiated = null;
  if (e.counter === 'zero') t.d.connectRetryCounter = 0;
  else if (e.counter === 'increment') t.d.connectRetryCounter += 1;
  t.go('Idle');
  if (e.restart && t.config.autoRestart) {
    // BIRD counts only NOTIFICATIONs other than Cease, sent or received (bgp_error/bgp_rx_notification
    // "if (code != 6) bgp_update_startup_delay"): a peer that is merely restarting gets back at once.
    const r = e.reason;
    const damped = t.config.dampPeerOscillations && r !== undefined && (r.type === 'sent' || r.type === 'received') && r.code !== ErrorCode.Cease;
    let wait = 0;
    if (damped) {
      t.d.backoff = countError(t.d.backoff, t.config, t.now);
      wait = t.d.backoff.delaySec;
    }
    t.set('idleHold', wait);
  }
  return t.done();
}

/** The start events (1, 3, 4, 5) in Idle. */
function start(t: Tx, passive: boolean): Transition {
  t.stop('idleHold');
  t.d.connectRetryCounter = 0;
  t.d.passive = passive;
  if (passive) {
    t.set('connectRetry', t.config.connectRetrySec);
    t.go('Active');
  } else if (t.config.connectDelaySec > 0) {
    // BIRD connect delay: wait in Active (accepting connections), connect when the timer fires.
    t.set('connectRetry', t.config.connectDelaySec);
    t.go('Active');
  } else {
    t.set('connectRetry', t.config.connectRetrySec);
    t.push({ type: 'connect' });
    t.go('Connect');
  }
  return t.done();
}

/** Wait before the next outgoing attempt after a failed one (BIRD uses the connect delay). */
function retryAfterFailureSec(c: SessionConfig): number {
  return c.connectDelaySec > 0 ? c.connectDelaySec : c.connectRetrySec;
}

/** TCP up in Connect or Active (Events 16, 17). */
function tcpUp(t: Tx): Transition {
  t.stop('connectRetry');
  if (t.config.delayOpenSec > 0) {
    t.set('delayOpen', t.config.delayOpenSec);
    return t.done();
  }
  t.send(localOpen(t.config));
  t.set('hold', t.config.openHoldSec);
  t.go('OpenSent');
  return t.done();
}

/** DelayOpenTimer_Expires in Connect or Active (Event 12). */
function delayOpenExpired(t: Tx): Transition {
  t.stop('connectRetry');
  t.send(localOpen(t.config));
  t.set('hold', t.config.openHoldSec);
  t.go('OpenSent');
  return t.done();
}

/** Arm Hold and Keepalive with the negotiated values, or stop them for a zero Hold Time (§4.4). */
function armNegotiatedTimers(t: Tx, holdSec: number, keepaliveSec: number): void {
  if (holdSec > 0) {
    t.set('keepalive', keepaliveSec);
    t.set('hold', holdSec);
  } else {
    t.stop('keepalive');
    t.stop('hold');
  }
}

/**
 * A valid-looking OPEN in Connect/Active with the DelayOpenTimer running (Event 20) or in OpenSent
 * (Event 19). An OPEN that fails `checkOpen` is Event 22.
 */
function openReceived(t: Tx, open: OpenMessage, sendOwnOpen: boolean): Transition {
  const result = checkOpen(open, t.config);
  if (!isNegotiated(result)) return openError(t, result);
  t.stop('connectRetry');
  t.stop('delayOpen');
  if (sendOwnOpen) t.send(localOpen(t.config));
  t.send(KEEPALIVE_MESSAGE);
  armNegotiatedTimers(t, result.holdTimeSec, result.keepaliveSec);
  t.d.negotiated = result;
  t.go('OpenConfirm');
  return t.done();
}

/** Events 21/22 (and a failed checkOpen) outside Established. */
function openError(t: Tx, error: BgpError): Transition {
  const n = errorNotification(error);
  const sendIt = t.d.state === 'OpenSent' || t.d.state === 'OpenConfirm' || t.config.sendNotificationWithoutOpen;
  // Without a NOTIFICATION there is nothing BIRD would show as "BGP Error"; still record it.
  return sendIt
    ? toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true })
    : toIdle(t, { counter: 'increment', reason: { type: 'error', message: error.message }, restart: true });
}

function cease(e: { readonly subcode?: number; readonly communication?: string; readonly data?: Uint8Array }, dflt: number): NotificationMessage {
  return ceaseNotification(e.subcode ?? dflt, e.communication, e.data);
}

/** Events that are FSM errors in OpenSent, OpenConfirm and Established (RFC 4271, RFC 6608). */
function unexpected(t: Tx, e: Event): Transition {
  const n = fsmError(t.d.state, messageTypeOf(e));
  return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
}

// --- the state machine ------------------------------------------------------------------------

export function step(s: SessionState, e: Event, now: number): Transition {
  const t = new Tx(s, now);
  // A timer's own expiry means it is no longer running.
  switch (e.type) {
    case 'ConnectRetryTimer_Expires':
      t.d.timers.connectRetry = null;
      break;
    case 'HoldTimer_Expires':
      t.d.timers.hold = null;
      break;
    case 'KeepaliveTimer_Expires':
      t.d.timers.keepalive = null;
      break;
    case 'DelayOpenTimer_Expires':
      t.d.timers.delayOpen = null;
      break;
    case 'IdleHoldTimer_Expires':
      t.d.timers.idleHold = null;
      break;
    default:
      break;
  }
  switch (s.state) {
    case 'Idle':
      return idle(t, e);
    case 'Connect':
    case 'Active':
      return connectOrActive(t, e, s.state);
    case 'OpenSent':
      return openSent(t, e);
    case 'OpenConfirm':
      return openConfirm(t, e);
    case 'Established':
      return established(t, e);
    default:
      return assertNever(s.state);
  }
}

/** RFC 4271 §8.2.2 Idle state. */
function idle(t: Tx, e: Event): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
      return start(t, false);
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return start(t, true);
    case 'IdleHoldTimer_Expires':
      // Events 6/7: the damped automatic start, passive or not as configured.
      return start(t, t.config.passive || t.d.passive);
    case 'ManualStop':
      // Ignored by the FSM, but an automatic restart that is pending must not happen any more.
      t.stop('idleHold');
      return t.done();
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      // "In this state, BGP FSM refuses all incoming BGP connections for this peer."
      t.push({ type: 'reject' });
      return t.done();
    case 'AutomaticStop':
    case 'ConnectRetryTimer_Expires':
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionFails':
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      // "Any other event (Events 9-12, 15-28) received in the Idle state does not cause change".
      return t.done();
    default:
      return assertNever(e);
  }
}

/** RFC 4271 §8.2.2 Connect and Active states (they differ in a handful of cells). */
function connectOrActive(t: Tx, e: Event, state: 'Connect' | 'Active'): Transition {
  const delayOpenRunning = t.d.timers.delayOpen !== null;
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return t.done();
    case 'ManualStop': {
      // Active: "If the DelayOpenTimer is running and the SendNOTIFICATIONwithoutOPEN session
      // attribute is set, the local system sends a NOTIFICATION with a Cease".
      const n = state === 'Active' && delayOpenRunning && t.config.sendNotificationWithoutOpen ? cease(e, CeaseSubcode.AdministrativeShutdown) : undefined;
      return toIdle(t, n === undefined ? { counter: 'zero', reason: { type: 'manual' }, restart: false } : { notify: n, counter: 'zero', reason: { type: 'manual' }, restart: false });
    }
    case 'ConnectRetryTimer_Expires':
      if (state === 'Connect') {
        t.push({ type: 'close' });
        t.set('connectRetry', t.config.connectRetrySec);
        t.stop('delayOpen');
        t.push({ type: 'connect' });
        return t.done();
      }
      t.set('connectRetry', t.config.connectRetrySec);
      if (t.d.passive) return t.done();
      t.push({ type: 'connect' });
      t.go('Connect');
      return t.done();
    case 'DelayOpenTimer_Expires':
      return delayOpenExpired(t);
    case 'Tcp_CR_Invalid':
      t.push({ type: 'reject' });
      return t.done();
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return tcpUp(t);
    case 'TcpConnectionFails': {
      const reason = tcpFailReason(e);
      if (state === 'Connect' || delayOpenRunning) {
        // Connect: deviation (RFC: Idle without DelayOpen) — BIRD goes on in Active and retries
        // after the connect delay. With DelayOpen running this is the RFC's own transition.
        t.push({ type: 'close' });
        t.set('connectRetry', delayOpenRunning ? t.config.connectRetrySec : retryAfterFailureSec(t.config));
        t.stop('delayOpen');
        t.d.lastError = reason;
        t.go('Active');
        return t.done();
      }
      return toIdle(t, { counter: 'increment', reason, restart: true });
    }
    case 'BGPOpen_with_DelayOpenTimer_running':
      return openReceived(t, e.open, true);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return openError(t, e.error);
    case 'NotifMsgVerErr':
      return toIdle(t, { counter: delayOpenRunning ? 'keep' : 'increment', reason: receivedReason(e.notification), restart: true });
    case 'NotifMsg':
      return toIdle(t, { counter: 'increment', reason: receivedReason(e.notification), restart: true });
    case 'AutomaticStop':
      return toIdle(t, { counter: 'increment', reason: automaticReason(e), restart: true });
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen':
    case 'OpenCollisionDump':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      // "In response to any other events (Events 8, 10-11, 13, 19, 23, 25-28)": no OPEN was sent,
      // so no NOTIFICATION either.
      return toIdle(t, { counter: 'increment', restart: true });
    default:
      return assertNever(e);
  }
}

/**
 * Events 2, 8 and 10 once an OPEN has been sent (OpenSent, OpenConfirm, Established): the same
 * NOTIFICATION and ConnectRetryCounter rule in all three states (RFC 4271 §8.2.2).
 */
function stopWithNotification(
  t: Tx,
  e: Extract<Event, { readonly type: 'ManualStop' | 'AutomaticStop' | 'HoldTimer_Expires' }>,
): Transition {
  switch (e.type) {
    case 'ManualStop':
      return toIdle(t, { notify: cease(e, CeaseSubcode.AdministrativeShutdown), counter: 'zero', reason: { type: 'manual' }, restart: false });
    case 'AutomaticStop':
      return toIdle(t, { notify: cease(e, 0), counter: 'increment', reason: automaticReason(e), restart: true });
    case 'HoldTimer_Expires': {
      const n = errorNotification(holdExpired());
      return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
    }
  }
}

/** RFC 4271 §8.2.2 OpenSent state. */
function openSent(t: Tx, e: Event): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // 16/17: "a second TCP connection may be in progress" — the driver tracks it (§6.8).
      return t.done();
    case 'Tcp_CR_Invalid':
      t.push({ type: 'reject' });
      return t.done();
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
      return stopWithNotification(t, e);
    case 'TcpConnectionFails':
      t.stop('hold');
      t.push({ type: 'close' });
      t.set('connectRetry', retryAfterFailureSec(t.config));
      t.d.lastError = tcpFailReason(e);
      t.go('Active');
      return t.done();
    case 'BGPOpen':
      return openReceived(t, e.open, false);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return openError(t, e.error);
    case 'OpenCollisionDump': {
      const n = ceaseNotification(CeaseSubcode.ConnectionCollisionResolution);
      return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
    }
    case 'NotifMsgVerErr':
      return toIdle(t, { counter: 'keep', reason: receivedReason(e.notification), restart: true });
    case 'NotifMsg':
      // Deviation: RFC 4271 lists Event 25 among the FSM errors here, but a NOTIFICATION is never
      // answered with one (§6.4: the connection is closed right after it).
      return toIdle(t, { counter: 'increment', reason: receivedReason(e.notification), restart: true });
    case 'ConnectRetryTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return unexpected(t, e);
    default:
      return assertNever(e);
  }
}

/** RFC 4271 §6.5: Hold Timer Expired, Data empty (from the one registry). */
function holdExpired(): BgpError {
  return Errors.holdTimerExpired();
}

/** RFC 4271 §8.2.2 OpenConfirm state. */
function openConfirm(t: Tx, e: Event): Transition {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return t.done();
    case 'Tcp_CR_Invalid':
      t.push({ type: 'reject' });
      return t.done();
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
      return stopWithNotification(t, e);
    case 'KeepaliveTimer_Expires':
      t.send(KEEPALIVE_MESSAGE);
      t.set('keepalive', t.d.negotiated?.keepaliveSec ?? 0);
      return t.done();
    case 'TcpConnectionFails':
      return toIdle(t, { counter: 'increment', reason: tcpFailReason(e), restart: true });
    case 'NotifMsg':
      return toIdle(t, { counter: 'increment', reason: receivedReason(e.notification), restart: true });
    case 'NotifMsgVerErr':
      return toIdle(t, { counter: 'keep', reason: receivedReason(e.notification), restart: true });
    case 'OpenCollisionDump': {
      const n = ceaseNotification(CeaseSubcode.ConnectionCollisionResolution);
      return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
    }
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return openError(t, e.error);
    case 'KeepAliveMsg': {
      const neg = t.d.negotiated;
      if (neg === null) throw new Error('OpenConfirm without a negotiated session');
      if (neg.holdTimeSec > 0) t.set('hold', neg.holdTimeSec);
      t.push({ type: 'established', negotiated: neg });
      t.go('Established');
      return t.done();
    }
    case 'BGPOpen':
    // A second OPEN on this connection (a colliding connection's OPEN is the driver's, §6.8).
    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return unexpected(t, e);
    default:
      return assertNever(e);
  }
}

/** RFC 4271 §8.2.2 Established state. */
function established(t: Tx, e: Event): Transition {
  const neg = t.d.negotiated;
  const holdSec = neg?.holdTimeSec ?? 0;
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return t.done();
    case 'Tcp_CR_Invalid':
      t.push({ type: 'reject' });
      return t.done();
    case 'ManualStop':
    case 'AutomaticStop':
    case 'HoldTimer_Expires':
      return stopWithNotification(t, e);
    case 'KeepaliveTimer_Expires':
      t.send(KEEPALIVE_MESSAGE);
      if (holdSec > 0) t.set('keepalive', neg?.keepaliveSec ?? 0);
      return t.done();
    case 'TcpConnectionFails':
      return toIdle(t, { counter: 'increment', reason: tcpFailReason(e), restart: true });
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return toIdle(t, { counter: 'increment', reason: receivedReason(e.notification), restart: true });
    case 'KeepAliveMsg':
      if (holdSec > 0) t.set('hold', holdSec);
      return t.done();
    case 'UpdateMsg':
      if (e.outcome !== undefined) t.push({ type: 'update', outcome: e.outcome });
      if (holdSec > 0) t.set('hold', holdSec);
      return t.done();
    case 'RouteRefreshMsg':
      t.push({ type: 'routeRefresh', message: e.message });
      if (holdSec > 0) t.set('hold', holdSec);
      return t.done();
    case 'UpdateMsgErr':
    case 'BGPHeaderErr': {
      // §6.1/§6.3: the error's own NOTIFICATION (a header error is one in every state).
      const n = errorNotification(e.error);
      return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
    }
    case 'OpenCollisionDump': {
      const n = ceaseNotification(CeaseSubcode.ConnectionCollisionResolution);
      return toIdle(t, { notify: n, counter: 'increment', reason: sentReason(n), restart: true });
    }
    case 'BGPOpen':
    case 'BGPOpen_with_DelayOpenTimer_running':
    case 'BGPOpenMsgErr':
    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
      // "In response to any other event (Events 9, 12-13, 20-22)": FSM error (RFC 6608 subcode 3
      // for an OPEN).
      return unexpected(t, e);
    default:
      return assertNever(e);
  }
}
