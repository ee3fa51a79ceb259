/**
 * The per-peer status record the rest of wren reads (bgpctl, the BIRD-compatible socket, metrics),
 * and BIRD's wording for it (proto/bgp/bgp.c bgp_get_status, birdc-protocol.md §5.1–5.2).
 */
import { describeError } from '../proto/errors.js';
import { MessageType } from '../proto/constants.js';
import { TIMERS, assertNever } from './types.js';
import type { DownReason, Negotiated, SessionState, State, TimerName } from './types.js';

/** BIRD's text for a down reason: errclass + message (`Socket: Connection refused`, `Received: Bad peer AS`). */
export function formatDownReason(r: DownReason | null): string {
  if (r === null) return '';
  switch (r.type) {
    case 'socket':
      return `Socket: ${r.message}`;
    case 'sent':
      return `BGP Error: ${describeError(r.code, r.subcode)}`;
    case 'received':
      return `Received: ${describeError(r.code, r.subcode)}`;
    case 'error':
      return `Error: ${r.message}`;
    case 'automatic':
      return `Automatic shutdown: ${r.message}`;
    case 'manual':
      return '';
    default:
      return assertNever(r);
  }
}

/**
 * BIRD's state_dsc: the FSM state, except `Passive` for a passive session waiting in Active
 * (BIRD: both connections idle, startup done, `passive on`).
 */
export type BirdState = State | 'Passive' | 'Down';
export function birdState(s: SessionState, enabled = true): BirdState {
  if (!enabled) return 'Down';
  if (s.state === 'Active' && (s.passive || s.config.passive)) return 'Passive';
  return s.state;
}

/** BIRD's `info` column: `%-14s%s` of state and last error, e.g. `Active        Socket: Connection refused`. */
export function birdInfo(s: SessionState, enabled = true): string {
  const err = formatDownReason(s.lastError);
  if (!enabled) return err;
  return `${birdState(s).padEnd(14)}${err}`;
}

// --- counters -------------------------------------------------------------------------------

export const MESSAGE_KINDS = ['open', 'update', 'notification', 'keepalive', 'route-refresh', 'other'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export function messageKind(type: number): MessageKind {
  switch (type) {
    case MessageType.Open:
      return 'open';
    case MessageType.Update:
      return 'update';
    case MessageType.Notification:
      return 'notification';
    case MessageType.Keepalive:
      return 'keepalive';
    case MessageType.RouteRefresh:
      return 'route-refresh';
    default:
      return 'other';
  }
}

export type PerKind = { [K in MessageKind]: number };

/** Messages and octets per direction and type. Mutable on purpose: it is bumped per message. */
export interface Counters {
  readonly messagesIn: PerKind;
  readonly messagesOut: PerKind;
  readonly bytesIn: PerKind;
  readonly bytesOut: PerKind;
  /** RFC 4271 §8 ConnectRetryCounter is in the FSM; these count what an operator asks about. */
  establishedTransitions: number;
  flaps: number;
  /** UPDATEs handled as a withdraw of their routes (RFC 7606 §2 treat-as-withdraw), for any error. */
  updatesTreatAsWithdraw: number;
  /** Of those, the ones whose AS_PATH did not start with the eBGP peer's AS (RFC 4271 §6.3). */
  firstAsMismatch: number;
}

function zero(): PerKind {
  return { open: 0, update: 0, notification: 0, keepalive: 0, 'route-refresh': 0, other: 0 };
}

export function newCounters(): Counters {
  return {
    messagesIn: zero(),
    messagesOut: zero(),
    bytesIn: zero(),
    bytesOut: zero(),
    establishedTransitions: 0,
    flaps: 0,
    updatesTreatAsWithdraw: 0,
    firstAsMismatch: 0,
  };
}

export function countIn(c: Counters, type: number, bytes: number): void {
  const k = messageKind(type);
  c.messagesIn[k] += 1;
  c.bytesIn[k] += bytes;
}

export function countOut(c: Counters, type: number, bytes: number): void {
  const k = messageKind(type);
  c.messagesOut[k] += 1;
  c.bytesOut[k] += bytes;
}

export function total(p: PerKind): number {
  let n = 0;
  for (const k of MESSAGE_KINDS) n += p[k];
  return n;
}

/** What `show neighbor` and the BIRD socket print for one peer. Plain data, safe to serialise. */
export interface PeerStatus {
  readonly state: State;
  readonly birdState: BirdState;
  /** When the state last changed (ms). */
  readonly since: number;
  /** BIRD's wording of the last error, '' when none. */
  readonly lastError: string;
  /** RFC 9003 text received with the last Cease, if any. */
  readonly message: string | null;
  readonly negotiated: Negotiated | null;
  readonly connectRetryCounter: number;
  /** Seconds left / started with, per running timer (BIRD's `Hold timer: 153/240`). */
  readonly timers: { readonly [K in TimerName]?: { readonly remainingSec: number; readonly totalSec: number } };
  readonly counters: Counters;
}

export function peerStatus(s: SessionState, counters: Counters, now: number, enabled = true): PeerStatus {
  const timers: { [K in TimerName]?: { remainingSec: number; totalSec: number } } = {};
  for (const name of TIMERS) {
    const t = s.timers[name];
    if (t !== null) timers[name] = { remainingSec: Math.max(0, Math.ceil((t.deadline - now) / 1000)), totalSec: t.seconds };
  }
  const r = s.lastError;
  return {
    state: s.state,
    birdState: birdState(s, enabled),
    since: s.since,
    lastError: formatDownReason(r),
    message: r !== null && (r.type === 'received' || r.type === 'sent') && r.communication !== undefined ? r.communication : null,
    negotiated: s.negotiated,
    connectRetryCounter: s.connectRetryCounter,
    timers,
    counters,
  };
}
