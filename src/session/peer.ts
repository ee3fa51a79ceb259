/**
 * The session driver for one configured peer: sockets (node:net), framing, decoding, the FSM's
 * timers, and the events the daemon consumes.
 *
 * Ownership: a Peer is the single owner of its connections. Every input (socket data, socket
 * close, timer) becomes one FSM event; `step` returns actions and they are applied synchronously,
 * in order — nothing here awaits inside a transition (style.md §7.3).
 *
 * Connections: RFC 4271 §8.2.1 has one FSM per connection. A Peer holds the primary connection
 * (whose FSM is the peer's FSM) and, during a collision, a second one (RFC 4271 §6.8) with its own
 * FSM. Collisions are resolved with fsm/collision.ts when an OPEN arrives; the loser gets Cease /
 * Connection Collision Resolution, the survivor becomes the primary.
 *
 * Fairness: at most `batchSize` messages are handled per event-loop turn, then reading pauses and
 * resumes from setImmediate, so one peer sending a full table never starves the others or our
 * keepalives (OpenBGPD MSG_PROCESS_LIMIT).
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { MessageType } from '../../proto/constants.js';
import { ErrorCode, OpenSubcode, isBgpError } from '../../proto/errors.js';
import type { BgpError } from '../../proto/errors.js';
import { Framer } from '../../proto/framer.js';
import { decodeMessage, encodeMessage, peekType } from '../../proto/messages.js';
import { DEFAULT_CONTEXT } from '../../proto/types.js';
import type { CodecContext, Message, RouteRefreshMessage, UpdateOutcome } from '../../proto/types.js';
import { decodeUpdate } from '../../proto/update.js';
import { detectCollision } from '../../fsm/collision.js';
import type { Direction } from '../../fsm/collision.js';
import { createSession, openEvent, step } from '../../fsm/fsm.js';
import { countIn, countOut, formatDownReason, newCounters, peerStatus } from '../../fsm/status.js';
import type { Counters, PeerStatus } from '../../fsm/status.js';
import { STATES, assertNever } from '../../fsm/types.js';
import type { Action, DownReason, Event, Negotiated, SessionConfig, SessionState, State, TimerName } from '../../fsm/types.js';
import type { Clock, TimerHandle } from './clock.js';
import type { SessionLogger } from './logger.js';
import { applyGtsm, needsNativeConnect, secureConnect } from './security.js';
import type { PendingConnect } from './security.js';
import { SESSION_MESSAGES_PER_TURN } from '../schedule.js';

export interface PeerOptions {
  /** Display name (Calico's Mesh_10_160_105_7 style); defaults to the address. */
  readonly name?: string;
  /** The peer's address, IPv4 or IPv6 text. */
  readonly address: string;
  /** The peer's BGP port (179 unless configured). */
  readonly port: number;
  /** Source address for outgoing connections (the node address); absent = the kernel chooses. */
  readonly localAddress?: string;
  /** Source port for outgoing connections; absent = ephemeral. */
  readonly localPort?: number;
  readonly config: SessionConfig;
  readonly clock: Clock;
  readonly logger: SessionLogger;
  /** Messages handled per event-loop turn before yielding (default 64). */
  readonly batchSize?: number;
  /** Grace period for a closing socket to flush its NOTIFICATION before it is destroyed (ms). */
  readonly closeGraceMs?: number;
  /**
   * RFC 9687 Send Hold Timer: a session whose output makes no progress (write buffer above its
   * high-water mark, no drain) for this long is closed. Default: twice the negotiated hold time,
   * BIRD's default; none when the hold time is 0.
   */
  readonly sendHoldMs?: number;
  /** Queued output above this is a peer that is not reading: the session is closed at once (default 64 MiB). */
  readonly maxWriteBufferBytes?: number;
  /**
   * TCP MD5 key (RFC 2385). Outgoing connections then go through the native addon (key set
   * before the SYN); the listener's key for this address is the SessionManager's job.
   */
  readonly password?: string;
  /** GTSM (RFC 5082): the peer is at most this many hops away; TTL 255 out, minimum TTL 256 - hops in. */
  readonly ttlSecurityHops?: number;
}

export interface PeerEvents {
  stateChange: { readonly peer: Peer; readonly from: State; readonly to: State; readonly reason: DownReason | null; readonly text: string };
  established: { readonly peer: Peer; readonly negotiated: Negotiated };
  down: { readonly peer: Peer; readonly reason: DownReason; readonly text: string };
  update: { readonly peer: Peer; readonly outcome: UpdateOutcome };
  routeRefresh: { readonly peer: Peer; readonly message: RouteRefreshMessage };
  /** The socket's write buffer emptied after `send`/`sendRaw` returned false. */
  drain: { readonly peer: Peer };
}
export type PeerEventName = keyof PeerEvents;
type Listener<K extends PeerEventName> = (e: PeerEvents[K]) => void;

interface TimerEntry {
  /** When the FSM wants the timer to fire. */
  deadline: number;
  /** When the armed clock timer fires (<= deadline; re-armed lazily when the deadline moved). */
  fireAt: number;
  handle: TimerHandle;
}

/** One TCP connection and its FSM. */
class Conn {
  socket: net.Socket | null = null;
  /** An outgoing connect running in the native addon (MD5 / GTSM), before there is a socket. */
  pending: PendingConnect | null = null;
  readonly framer = new Framer();
  readonly timers = new Map<TimerName, TimerEntry>();
  rx: CodecContext = DEFAULT_CONTEXT;
  tx: CodecContext = DEFAULT_CONTEXT;
  /** A batch continuation is queued on setImmediate. */
  scheduled = false;
  /**
   * Messages handled in the current event-loop turn. libuv reads a readable socket up to 32 times
   * per poll (64 KiB each), so one turn brings many 'data' events: the batch limit must count
   * across them, or a peer withdrawing a full table gets ~500 UPDATEs handled in one turn.
   */
  handledThisTurn = 0;
  turnResetArmed = false;
  discarded = false;
  /** RFC 9687 Send Hold Timer, armed while the socket's write buffer is above its high-water mark. */
  sendHold: TimerHandle | null = null;
  constructor(
    readonly id: number,
    public direction: Direction,
    public fsm: SessionState,
  ) {}
}

const STATE_RANK: Record<State, number> = Object.fromEntries(STATES.map((s, i) => [s, i])) as Record<State, number>;

const EXPIRY: Record<TimerName, Event> = {
  connectRetry: { type: 'ConnectRetryTimer_Expires' },
  hold: { type: 'HoldTimer_Expires' },
  keepalive: { type: 'KeepaliveTimer_Expires' },
  delayOpen: { type: 'DelayOpenTimer_Expires' },
  idleHold: { type: 'IdleHoldTimer_Expires' },
};

/** Queued output that marks a peer as not reading, whatever the send hold timer says. */
const DEFAULT_MAX_WRITE_BUFFER = 64 * 1024 * 1024;

/** strerror(3) wording for the errno codes a BGP socket meets (BIRD prints `Socket: %M`). */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  EPIPE: 'Broken pipe',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  ECONNABORTED: 'Software caused connection abort',
  EACCES: 'Permission denied',
};

export function socketErrorText(err: Error | null): string {
  if (err === null) return 'Connection closed';
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined ? ERRNO_TEXT[code] : undefined) ?? err.message;
}

export class Peer {
  readonly name: string;
  readonly address: string;
  readonly config: SessionConfig;
  readonly counters: Counters = newCounters();
  private readonly opts: PeerOptions;
  private readonly clock: Clock;
  private readonly log: SessionLogger;
  private readonly batchSize: number;
  private primary: Conn;
  private secondary: Conn | null = null;
  private nextConnId = 1;
  private enabled = false;
  private inputPaused = false;
  private writeBlocked = false;
  private lastState: State = 'Idle';
  private readonly listeners: { [K in PeerEventName]: Listener<K>[] } = {
    stateChange: [],
    established: [],
    down: [],
    update: [],
    routeRefresh: [],
    drain: [],
  };

  constructor(opts: PeerOptions) {
    this.opts = opts;
    this.name = opts.name ?? opts.address;
    this.address = opts.address;
    this.config = opts.config;
    this.clock = opts.clock;
    this.log = opts.logger;
    this.batchSize = opts.batchSize ?? SESSION_MESSAGES_PER_TURN;
    this.primary = new Conn(this.nextConnId++, 'outgoing', createSession(opts.config, this.clock.now()));
  }

  // --- events ---------------------------------------------------------------------------------

  on<K extends PeerEventName>(event: K, fn: Listener<K>): this {
    this.listeners[event].push(fn);
    return this;
  }

  off<K extends PeerEventName>(event: K, fn: Listener<K>): this {
    const list = this.listeners[event];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  private emit<K extends PeerEventName>(event: K, payload: PeerEvents[K]): void {
    for (const fn of this.listeners[event]) fn(payload);
  }

  // --- control --------------------------------------------------------------------------------

  /** ManualStart (Event 1), or Event 4 for a passive peer (RFC 4271 §8.1.2). */
  start(): void {
    this.enabled = true;
    this.fire(this.primary, this.config.passive ? { type: 'ManualStart_with_PassiveTcpEstablishment' } : { type: 'ManualStart' });
  }

  /**
   * ManualStop (Event 2) with a Cease subcode (RFC 4486: 2 Administrative Shutdown, 3 Peer
   * De-configured, 4 Administrative Reset, 5 Connection Rejected, 6 Other Configuration Change)
   * and an optional RFC 9003 shutdown communication.
   */
  stop(subcode?: number, communication?: string): void {
    this.enabled = false;
    const ev: Event =
      subcode === undefined
        ? { type: 'ManualStop' }
        : communication === undefined
          ? { type: 'ManualStop', subcode }
          : { type: 'ManualStop', subcode, communication };
    if (this.secondary !== null) this.fire(this.secondary, ev);
    this.fire(this.primary, ev);
  }

  /** Stop and start again (Cease / Administrative Reset), e.g. `bgpctl neighbor X reset`. */
  reset(communication?: string): void {
    this.stop(4, communication);
    this.start();
  }

  /** AutomaticStop (Event 8), e.g. a prefix limit (Cease subcode 1). */
  automaticStop(subcode: number, communication?: string, data?: Uint8Array): void {
    const ev: Event = {
      type: 'AutomaticStop',
      subcode,
      ...(communication === undefined ? {} : { communication }),
      ...(data === undefined ? {} : { data }),
    };
    this.fire(this.primary, ev);
  }

  /**
   * An UPDATE error found above the codec's session-reset rules (RFC 7606 AFI/SAFI disable on a
   * one-family session): Event 28 on the established connection, so the peer gets the error's own
   * NOTIFICATION (code, subcode, data) and the usual error-wait back-off follows.
   */
  updateError(error: BgpError): void {
    const c = this.established();
    if (c !== null) this.fire(c, { type: 'UpdateMsgErr', error });
  }

  /** Tear everything down without a NOTIFICATION (daemon exit after stop(), tests). */
  destroy(): void {
    this.enabled = false;
    if (this.secondary !== null) this.discard(this.secondary);
    this.secondary = null;
    this.discard(this.primary);
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** BIRD shows the highest state of the peer's connections. */
  get state(): State {
    const a = this.primary.fsm.state;
    const b = this.secondary?.fsm.state ?? 'Idle';
    return STATE_RANK[b] > STATE_RANK[a] ? b : a;
  }

  /** The FSM of the primary connection (read-only view for status). */
  get session(): SessionState {
    return this.primary.fsm;
  }

  get negotiated(): Negotiated | null {
    return this.established()?.fsm.negotiated ?? null;
  }

  status(): PeerStatus {
    const c = this.established() ?? this.primary;
    return { ...peerStatus(c.fsm, this.counters, this.clock.now(), this.enabled), state: this.state };
  }

  /** Who opened the established connection (RFC 4271 §6.8 survivor), or null when not established. */
  get direction(): Direction | null {
    return this.established()?.direction ?? null;
  }

  /** The connection count (1 normally, 2 during a collision), for tests and `show neighbor`. */
  get connections(): number {
    return (inFlight(this.primary) ? 1 : 0) + (this.secondary !== null && inFlight(this.secondary) ? 1 : 0);
  }

  // --- output for the RIB -------------------------------------------------------------------

  /**
   * Send one message on the established session. Returns false when the socket's buffer is above
   * its high-water mark (wait for `drain`) or when there is no established session.
   */
  send(msg: Message): boolean {
    const c = this.established();
    if (c === null || c.socket === null) return false;
    return this.write(c, encodeMessage(msg, c.tx), messageTypeOf(msg));
  }

  /** Send pre-encoded message(s) (the RIB's packed UPDATEs). Same return as `send`. */
  sendRaw(buf: Buffer): boolean {
    const c = this.established();
    if (c === null || c.socket === null) return false;
    return this.write(c, buf, buf.length > 18 ? (buf[18] ?? 0) : 0);
  }

  /**
   * Several pre-encoded messages in one socket write (one syscall instead of one per message:
   * a route reflector sends a few small UPDATEs to each of hundreds of peers per RIB drain).
   * Each message is still counted.
   */
  sendRawBatch(bufs: readonly Buffer[]): boolean {
    if (bufs.length <= 1) return bufs.length === 1 ? this.sendRaw(bufs[0]!) : true;
    const c = this.established();
    if (c === null || c.socket === null) return false;
    for (const b of bufs) countOut(this.counters, b.length > 18 ? (b[18] ?? 0) : 0, b.length);
    return this.push(c, Buffer.concat(bufs));
  }

  /** Bytes queued in the established socket's write buffer. */
  get writableLength(): number {
    return this.established()?.socket?.writableLength ?? 0;
  }

  /** The RIB is behind: stop reading from the peer until resumeInput (TCP flow control does the rest). */
  pauseInput(): void {
    this.inputPaused = true;
    for (const c of this.conns()) c.socket?.pause();
  }

  resumeInput(): void {
    this.inputPaused = false;
    for (const c of this.conns()) {
      if (c.socket !== null && !c.scheduled) {
        c.socket.resume();
        this.drain(c);
      }
    }
  }

  // --- input from the listener --------------------------------------------------------------

  /**
   * An accepted TCP connection from this peer's address (Event 17). Returns false when the FSM
   * refuses it (Idle, or both connection slots busy); the socket is then destroyed here.
   */
  accept(socket: net.Socket): boolean {
    const p = this.primary;
    if (p.fsm.state === 'Idle' || (this.secondary !== null)) {
      this.log.info({ peer: this.name, state: p.fsm.state }, 'incoming connection refused');
      socket.destroy();
      return false;
    }
    if (this.opts.ttlSecurityHops !== undefined) {
      // GTSM before any byte is read (see security.ts for the window before this call).
      try {
        applyGtsm(socket, this.opts.ttlSecurityHops);
      } catch (e) {
        this.log.error({ peer: this.name, err: e instanceof Error ? e.message : String(e) }, 'cannot set ttl-security on an accepted connection: refused');
        socket.destroy();
        return false;
      }
    }
    if ((p.fsm.state === 'Active' || p.fsm.state === 'Connect') && !inFlight(p)) {
      // Nothing in flight: this connection becomes the peer's connection.
      p.direction = 'incoming';
      this.attach(p, socket);
      this.fire(p, { type: 'TcpConnectionConfirmed' });
      return true;
    }
    // A connection exists already: track the second one (RFC 4271 §6.8, §8.2.1).
    const fsm: SessionState = {
      ...createSession(this.config, this.clock.now()),
      state: 'Active',
      passive: p.fsm.passive,
      backoff: p.fsm.backoff,
      lastError: p.fsm.lastError,
    };
    const c = new Conn(this.nextConnId++, 'incoming', fsm);
    this.secondary = c;
    this.attach(c, socket);
    this.fire(c, { type: 'TcpConnectionConfirmed' });
    return true;
  }

  // --- internals ------------------------------------------------------------------------------

  private conns(): Conn[] {
    return this.secondary === null ? [this.primary] : [this.primary, this.secondary];
  }

  private established(): Conn | null {
    for (const c of this.conns()) if (c.fsm.state === 'Established') return c;
    return null;
  }

  private live(c: Conn): boolean {
    return !c.discarded && (c === this.primary || c === this.secondary);
  }

  /** Feed one event to a connection's FSM and apply the resulting actions in order. */
  private fire(c: Conn, event: Event): void {
    if (!this.live(c)) return;
    const r = step(c.fsm, event, this.clock.now());
    c.fsm = r.state;
    for (const a of r.actions) this.apply(c, a);
    this.settle();
  }

  private apply(c: Conn, a: Action): void {
    switch (a.type) {
      case 'connect':
        this.connect(c);
        return;
      case 'send':
        if (c.socket !== null) this.write(c, encodeMessage(a.message, c.tx), messageTypeOf(a.message));
        if (a.message.type === 'notification') {
          this.log.info({ peer: this.name, code: a.message.code, subcode: a.message.subcode }, 'NOTIFICATION sent');
        }
        return;
      case 'setTimer':
        this.setTimer(c, a.timer, a.seconds);
        return;
      case 'stopTimer':
        this.stopTimer(c, a.timer);
        return;
      case 'close':
        this.closeSocket(c);
        return;
      case 'reject':
        this.closeSocket(c);
        return;
      case 'established':
        c.rx = a.negotiated.rx;
        c.tx = a.negotiated.tx;
        c.framer.setExtendedMessage(a.negotiated.extendedMessage);
        this.counters.establishedTransitions += 1;
        if (c === this.secondary) this.promoteEstablished(c);
        this.log.info({ peer: this.name, peerAs: a.negotiated.peerAsn, holdTimeSec: a.negotiated.holdTimeSec }, 'session established');
        this.emit('established', { peer: this, negotiated: a.negotiated });
        return;
      case 'down': {
        this.counters.flaps += 1;
        const text = formatDownReason(a.reason);
        this.log.info({ peer: this.name, reason: text }, 'session down');
        this.emit('down', { peer: this, reason: a.reason, text });
        return;
      }
      case 'update':
        this.emit('update', { peer: this, outcome: a.outcome });
        return;
      case 'routeRefresh':
        this.emit('routeRefresh', { peer: this, message: a.message });
        return;
      default:
        assertNever(a);
    }
  }

  /**
   * After a step: drop an Idle second connection, promote a live second connection over an Idle
   * primary, and report the peer's state change.
   */
  private settle(): void {
    const s = this.secondary;
    if (s !== null) {
      // A second connection exists only to carry an accepted socket through §6.8. Once that socket
      // is gone (the FSM's OpenSent + TcpConnectionFails goes to Active, not Idle) it must not live
      // on: its ConnectRetryTimer would open a third, outgoing connection next to an Established
      // session, which a GR-capable peer takes for our restart.
      if (s.fsm.state === 'Idle' || (!inFlight(s) && (s.fsm.state === 'Active' || s.fsm.state === 'Connect'))) {
        this.secondary = null;
        this.discard(s);
      } else if (this.primary.fsm.state === 'Idle' || (!inFlight(this.primary) && STATE_RANK[s.fsm.state] >= STATE_RANK.OpenSent)) {
        // The primary failed (or its connection attempt did) while the second connection is
        // progressing: the second one carries the peer now.
        const old = this.primary;
        this.primary = s;
        this.secondary = null;
        this.discard(old);
      }
    }
    const to = this.state;
    if (to !== this.lastState) {
      const from = this.lastState;
      this.lastState = to;
      const reason = this.primary.fsm.lastError;
      this.emit('stateChange', { peer: this, from, to, reason, text: formatDownReason(reason) });
    }
  }

  /** A second connection reached Established first: it wins; the other one goes (§6.8). */
  private promoteEstablished(c: Conn): void {
    const old = this.primary;
    this.primary = c;
    this.secondary = old;
    if (old.fsm.state === 'OpenSent' || old.fsm.state === 'OpenConfirm') this.fire(old, { type: 'OpenCollisionDump' });
    if (this.secondary === old) {
      this.secondary = null;
      this.discard(old);
    }
  }

  /** Forget a connection: no NOTIFICATION, no events, timers cancelled, socket closed. */
  private discard(c: Conn): void {
    c.discarded = true;
    this.clearTimers(c);
    this.closeSocket(c);
  }

  private connect(c: Conn): void {
    this.closeSocket(c);
    c.direction = 'outgoing';
    const o = this.opts;
    if (needsNativeConnect(o)) {
      this.connectSecure(c);
      return;
    }
    const options: net.NetConnectOpts = { host: o.address, port: o.port };
    if (o.localAddress !== undefined) options.localAddress = o.localAddress;
    if (o.localPort !== undefined) options.localPort = o.localPort;
    const sock = net.connect(options);
    this.attach(c, sock);
    sock.once('connect', () => {
      if (c.socket === sock) this.fire(c, { type: 'Tcp_CR_Acked' });
    });
  }

  /**
   * Outgoing connection with TCP MD5 and/or GTSM: the addon sets the options before the SYN and
   * hands back a connected fd. Failures take the same path as a node:net socket's error + close
   * (TcpConnectionFails with the strerror wording: "Socket: Connection refused").
   */
  private connectSecure(c: Conn): void {
    const o = this.opts;
    const pending = secureConnect(
      {
        address: o.address,
        port: o.port,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.ttlSecurityHops !== undefined ? { ttlSecurityHops: o.ttlSecurityHops } : {}),
      },
      (err, sock) => {
        if (c.pending !== pending) {
          sock?.destroy();
          return;
        }
        c.pending = null;
        if (err !== null || sock === undefined) {
          this.log.debug({ peer: this.name, err: err?.message }, 'connect failed');
          this.fire(c, { type: 'TcpConnectionFails', error: socketErrorText(err) });
          return;
        }
        this.attach(c, sock);
        this.fire(c, { type: 'Tcp_CR_Acked' });
      },
    );
    c.pending = pending;
  }

  private attach(c: Conn, sock: net.Socket): void {
    c.socket = sock;
    sock.setNoDelay(true);
    let lastError: Error | null = null;
    sock.on('data', (chunk: Buffer) => {
      if (c.socket !== sock) return;
      c.framer.push(chunk);
      if (!c.scheduled) this.drain(c);
    });
    sock.on('error', (err) => {
      lastError = err;
    });
    sock.on('close', () => {
      if (c.socket !== sock) return;
      c.socket = null;
      c.framer.reset();
      this.fire(c, { type: 'TcpConnectionFails', error: socketErrorText(lastError) });
    });
    sock.on('drain', () => {
      if (c.socket === sock) this.stopSendHold(c);
      if (c.socket === sock && this.writeBlocked) {
        this.writeBlocked = false;
        this.emit('drain', { peer: this });
      }
    });
    if (this.inputPaused) sock.pause();
  }

  private write(c: Conn, buf: Buffer, type: number): boolean {
    if (c.socket === null) return false;
    countOut(this.counters, type, buf.length);
    return this.push(c, buf);
  }

  /** Write counted bytes, with the send-hold / stuck-peer checks of a blocked socket. */
  private push(c: Conn, buf: Buffer): boolean {
    const sock = c.socket;
    if (sock === null) return false;
    const ok = sock.write(buf);
    if (!ok) {
      this.writeBlocked = true;
      this.armSendHold(c, sock);
      if (sock.writableLength > (this.opts.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER)) {
        this.sendStuck(c, sock, `${sock.writableLength} bytes queued for a peer that is not reading`);
        return false;
      }
    }
    return ok;
  }

  private armSendHold(c: Conn, sock: net.Socket): void {
    if (c.sendHold !== null) return;
    const hold = c.fsm.negotiated?.holdTimeSec ?? 0;
    const ms = this.opts.sendHoldMs ?? hold * 2000;
    if (ms <= 0) return;
    c.sendHold = this.clock.setTimeout(() => {
      c.sendHold = null;
      if (c.socket === sock && sock.writableLength > 0) this.sendStuck(c, sock, `no output progress for ${ms / 1000} s`);
    }, ms);
  }

  private stopSendHold(c: Conn): void {
    if (c.sendHold === null) return;
    this.clock.clearTimeout(c.sendHold);
    c.sendHold = null;
  }

  /**
   * The peer stopped reading (RFC 9687 §3): drop the connection without waiting to flush — a
   * NOTIFICATION would queue behind the data it is not reading — and let the FSM take its error
   * path (Idle, error-wait back-off). The queued output is freed with the socket.
   */
  private sendStuck(c: Conn, sock: net.Socket, why: string): void {
    this.stopSendHold(c);
    this.log.warn({ peer: this.name, queuedBytes: sock.writableLength, why }, 'send hold timer expired: closing the session');
    c.socket = null;
    c.framer.reset();
    sock.destroy();
    this.fire(c, { type: 'TcpConnectionFails', error: `Send hold timer expired (${why})` });
  }

  private closeSocket(c: Conn): void {
    this.stopSendHold(c);
    if (c.pending !== null) {
      c.pending.cancel();
      c.pending = null;
    }
    const sock = c.socket;
    if (sock === null) return;
    c.socket = null;
    c.framer.reset();
    // end() lets a NOTIFICATION just written reach the peer (FIN after the data); the peer closes
    // its side on receipt. A peer that does not is cut off after the grace period.
    sock.end();
    const grace = setTimeout(() => sock.destroy(), this.opts.closeGraceMs ?? 1000);
    grace.unref();
    sock.once('close', () => clearTimeout(grace));
  }

  /** Handle up to batchSize buffered messages, then yield to the event loop. */
  private drain(c: Conn): void {
    while (this.live(c) && c.socket !== null && !this.inputPaused) {
      if (c.handledThisTurn >= this.batchSize) {
        // Yield: pause the socket so the kernel buffer, not our heap, holds the rest.
        c.socket.pause();
        c.scheduled = true;
        setImmediate(() => {
          c.scheduled = false;
          if (!this.live(c) || c.socket === null) return;
          if (!this.inputPaused) c.socket.resume();
          this.drain(c);
        });
        return;
      }
      let frame: Buffer | null;
      try {
        frame = c.framer.next();
      } catch (e) {
        if (!isBgpError(e)) throw e;
        this.fire(c, { type: 'BGPHeaderErr', error: e });
        return;
      }
      if (frame === null) return;
      if (!c.turnResetArmed) {
        c.turnResetArmed = true;
        // Queued before any continuation below, so it runs first in the next check phase.
        setImmediate(() => {
          c.handledThisTurn = 0;
          c.turnResetArmed = false;
        });
      }
      c.handledThisTurn++;
      this.handleFrame(c, frame);
    }
  }

  /** Decode one frame and feed it to the FSM (the one place codec errors are caught, §7.2). */
  private handleFrame(c: Conn, frame: Buffer): void {
    const type = peekType(frame);
    countIn(this.counters, type, frame.length);
    let event: Event;
    try {
      if (type === MessageType.Update) {
        event = { type: 'UpdateMsg', outcome: decodeUpdate(frame, c.rx) };
      } else {
        const msg = decodeMessage(frame, c.rx);
        event = this.eventFor(c, msg);
      }
    } catch (e) {
      if (!isBgpError(e)) throw e;
      event = errorEvent(type, e);
      this.log.warn({ peer: this.name, code: e.code, subcode: e.subcode, error: e.message }, 'malformed message');
    }
    if (event.type === 'NotifMsg' || event.type === 'NotifMsgVerErr') {
      const n = event.notification;
      this.log.info({ peer: this.name, code: n.code, subcode: n.subcode }, 'NOTIFICATION received');
    }
    this.fire(c, event);
    if (event.type === 'BGPOpen' || event.type === 'BGPOpen_with_DelayOpenTimer_running') this.resolveCollision(c);
  }

  private eventFor(c: Conn, msg: Message): Event {
    switch (msg.type) {
      case 'open':
        return openEvent(c.fsm, msg);
      case 'update':
        // Not reached: UPDATEs go through decodeUpdate for their RFC 7606 outcome.
        return { type: 'UpdateMsg' };
      case 'notification':
        // RFC 4271 §8.1.5 Event 24: NOTIFICATION with "version error" (OPEN / Unsupported Version).
        return msg.code === ErrorCode.OpenMessage && msg.subcode === OpenSubcode.UnsupportedVersionNumber ? { type: 'NotifMsgVerErr', notification: msg } : { type: 'NotifMsg', notification: msg };
      case 'keepalive':
        return { type: 'KeepAliveMsg' };
      case 'route-refresh':
        return { type: 'RouteRefreshMsg', message: msg };
      default:
        return assertNever(msg);
    }
  }

  /** A valid OPEN has just moved `c` to OpenConfirm: check it against the other connection (§6.8). */
  private resolveCollision(c: Conn): void {
    if (!this.live(c) || c.fsm.state !== 'OpenConfirm') return;
    const neg = c.fsm.negotiated;
    const other = c === this.primary ? this.secondary : this.primary;
    if (neg === null || other === null || !this.live(other)) return;
    const d = detectCollision(other.fsm, c.direction, this.config.localBgpId, this.config.localAsn, neg.peerBgpId, neg.peerAsn, neg.gracefulRestart !== null, other.direction);
    switch (d.type) {
      case 'none':
        return;
      case 'stopOther':
        this.log.debug({ peer: this.name }, 'collision: abandoning the connection attempt');
        this.dropConn(other);
        return;
      case 'dumpOther':
        this.log.info({ peer: this.name, kept: c.direction }, 'connection collision, closing the other connection');
        this.fire(other, { type: 'OpenCollisionDump' });
        return;
      case 'replaceEstablished':
        this.log.info({ peer: this.name }, 'peer restarted (graceful restart): replacing the old session');
        this.fire(other, { type: 'TcpConnectionFails', reason: { type: 'error', message: 'Graceful restart' } });
        return;
      case 'dumpThis':
        this.log.info({ peer: this.name, kept: other.direction }, 'connection collision, closing this connection');
        this.fire(c, { type: 'OpenCollisionDump' });
        return;
      default:
        assertNever(d);
    }
  }

  /** Remove a connection quietly and let the other one carry the peer. */
  private dropConn(c: Conn): void {
    if (c === this.secondary) {
      this.secondary = null;
    } else if (c === this.primary && this.secondary !== null) {
      this.primary = this.secondary;
      this.secondary = null;
    }
    this.discard(c);
    this.settle();
  }

  // --- timers -----------------------------------------------------------------------------------

  private setTimer(c: Conn, name: TimerName, seconds: number): void {
    const now = this.clock.now();
    const deadline = now + seconds * 1000;
    const cur = c.timers.get(name);
    // The hold timer is restarted by every UPDATE: move the deadline and let the armed timer
    // re-arm itself when it fires early, instead of a clearTimeout/setTimeout pair per message.
    if (cur !== undefined && cur.fireAt <= deadline) {
      cur.deadline = deadline;
      return;
    }
    if (cur !== undefined) this.clock.clearTimeout(cur.handle);
    this.arm(c, name, deadline);
  }

  private arm(c: Conn, name: TimerName, deadline: number): void {
    const entry: TimerEntry = { deadline, fireAt: deadline, handle: {} };
    entry.handle = this.clock.setTimeout(() => this.onTimer(c, name, entry), deadline - this.clock.now());
    c.timers.set(name, entry);
  }

  private onTimer(c: Conn, name: TimerName, entry: TimerEntry): void {
    if (c.timers.get(name) !== entry) return;
    const now = this.clock.now();
    if (now < entry.deadline) {
      entry.fireAt = entry.deadline;
      entry.handle = this.clock.setTimeout(() => this.onTimer(c, name, entry), entry.deadline - now);
      return;
    }
    c.timers.delete(name);
    this.fire(c, EXPIRY[name]);
  }

  private stopTimer(c: Conn, name: TimerName): void {
    const cur = c.timers.get(name);
    if (cur === undefined) return;
    this.clock.clearTimeout(cur.handle);
    c.timers.delete(name);
  }

  private clearTimers(c: Conn): void {
    for (const e of c.timers.values()) this.clock.clearTimeout(e.handle);
    c.timers.clear();
  }
}

/** A connection has a socket or a connect in progress (node:net sockets exist while connecting). */
function inFlight(c: Conn): boolean {
  return c.socket !== null || c.pending !== null;
}

function messageTypeOf(m: Message): number {
  switch (m.type) {
    case 'open':
      return MessageType.Open;
    case 'update':
      return MessageType.Update;
    case 'notification':
      return MessageType.Notification;
    case 'keepalive':
      return MessageType.Keepalive;
    case 'route-refresh':
      return MessageType.RouteRefresh;
    default:
      return assertNever(m);
  }
}

/** A codec error becomes Event 21, 22 or 28 by the message it was found in. */
function errorEvent(type: number, e: BgpError): Event {
  if (e.code === ErrorCode.MessageHeader) return { type: 'BGPHeaderErr', error: e };
  if (type === MessageType.Open) return { type: 'BGPOpenMsgErr', error: e };
  if (type === MessageType.Update) return { type: 'UpdateMsgErr', error: e };
  return { type: 'BGPHeaderErr', error: e };
}
